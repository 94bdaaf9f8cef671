import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).parent))

from synthetic import write_class_folders, write_labels_csv, write_random_backbone  # noqa: E402


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_main_thread():
    """Free the Python wrappers of one test's Qt objects here, on the GUI thread: left to a later automatic
    collection, they can be collected inside a worker thread (e.g. an image-decoding pool), where destroying
    a Qt object crashes the process (seen once in a full run, in test_wizard)."""
    yield
    import gc

    gc.collect()


@pytest.fixture(autouse=True)
def _umask_restored():
    """A test that runs the app's main() in this process sets its owner-only umask; the next test starts with
    the one it had."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


@pytest.fixture(autouse=True)
def _no_clinician_chosen():
    """The clinician using the app is process-wide (core.clinicians): every test starts and ends with none
    chosen (the OS user)."""
    from melanoma_desktop.core.clinicians import set_current_clinician

    set_current_clinician(None)
    yield
    set_current_clinician(None)


_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "", None}


@pytest.fixture(autouse=True)
def _no_network_beyond_this_machine(monkeypatch):
    """No test reaches beyond this machine (the app needs no network; Keras must not try to download weights): a
    connection or name lookup for another host fails the test. Local sockets (the test PostgreSQL server's, a
    worker's pipe) are allowed; tests/hardening blocks even those where it proves the triage path uses none."""
    import socket

    real_connect, real_connect_ex, real_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def local(sock, address) -> bool:
        return sock.family == getattr(socket, "AF_UNIX", None) or (isinstance(address, tuple)
                                                                   and address[0] in _LOCAL_HOSTS)

    def connect(sock, address):
        if not local(sock, address):
            raise AssertionError(f"network access attempted: {address!r}")
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if not local(sock, address):
            raise AssertionError(f"network access attempted: {address!r}")
        return real_connect_ex(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in _LOCAL_HOSTS:
            raise AssertionError(f"network name lookup attempted: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    """Settings, caches, Keras' cache and the database live under tmp_path in every test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("MELANOMA_CACHE", str(home / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(home / "keras"))
    monkeypatch.setenv("MELANOMA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "share"))


@pytest.fixture(scope="session")
def random_backbones(tmp_path_factory) -> Path:
    """A folder with randomly initialised MobileNetV2 (alpha 0.35) weights in the ImageNet file layout."""
    folder = tmp_path_factory.mktemp("backbones")
    write_random_backbone(folder / "mobilenet_v2_0.35_224_imagenet_notop.h5", "mobilenetv2", 0.35)
    return folder


@pytest.fixture(scope="session")
def tiny_labels_csv(tmp_path_factory) -> Path:
    return write_labels_csv(tmp_path_factory.mktemp("labels_csv"), n_per_class=12)


@pytest.fixture(scope="session")
def tiny_class_folders(tmp_path_factory) -> Path:
    return write_class_folders(tmp_path_factory.mktemp("folders"), n_per_class=12, split_dirs=True)


def _shared(env: str, sub: str) -> Path | None:
    value = os.environ.get(env)
    path = Path(value) / sub if value else None
    return path if path is not None and path.exists() else None


@pytest.fixture
def shared_backbones() -> Path:
    """The real ImageNet backbones: $MELANOMA_BACKBONES when set (../shared/backbones in CI), else the copies
    that ship in resources/backbones."""
    from trainer.models.backbones import bundled_backbones_dir

    path = _shared("MELANOMA_BACKBONES", "") or bundled_backbones_dir()
    if not (path / "mobilenet_v2_0.35_224_imagenet_notop.h5").is_file():
        pytest.skip("real ImageNet backbone weights not available: set MELANOMA_BACKBONES to ../shared/backbones")
    return path


@pytest.fixture
def shared_data() -> Path:
    path = _shared("MELANOMA_DATA", "")
    if path is None or not (path / "ham10000" / "labels.csv").is_file():
        pytest.skip("real dermoscopic data not available: set MELANOMA_DATA to ../shared/data")
    return path


@pytest.fixture(scope="session")
def tiny_bundles(tmp_path_factory, random_backbones):
    """Real bundles (cnn + mobilenetv2 on a random-weight backbone) trained by the trainer on tiny data.
    Returns (models folder, backbones folder, data folder)."""
    from trainer.config import TrainConfig
    from trainer.training.train import run_training

    from synthetic import write_labels_csv

    root = tmp_path_factory.mktemp("bundles")
    data = write_labels_csv(root / "data", n_per_class=10)
    config = TrainConfig(data=str(data), out=str(root / "models"), models=("cnn", "mobilenetv2"), protocol="full",
                         epochs=1, batch_size=8, backbones=str(random_backbones), mobilenet_alpha=0.35,
                         cache_dir=str(root / "cache"), allow_download=False, aug_copies=1)
    run_training(config)
    return root / "models", random_backbones, data


@pytest.fixture(scope="session")
def _pg_base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("postgres")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request, tmp_path, _pg_base):
    """Where a storage test's case database lives: a SQLite file, or a new database on a real PostgreSQL server
    (tests/pg_server.py)."""
    if request.param == "sqlite":
        return tmp_path / "c.db"
    from pg_server import new_database

    return new_database(_pg_base)

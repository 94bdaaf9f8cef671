"""The GUI event loop keeps ticking during long work; the triage path needs no network."""

import socket

import pytest
from PySide6.QtCore import QElapsedTimer, QTimer

from fakes import FakeClassifier, grey_image
from qt_helpers import drop, make_window

MAX_STALL_MS = 100


class StallMeter:
    """A 10 ms timer on the GUI thread; the longest gap between its ticks is the worst stall."""

    def __init__(self):
        self.clock = QElapsedTimer()
        self.worst = 0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self):
        if self.clock.isValid():
            self.worst = max(self.worst, self.clock.restart())
        else:
            self.clock.start()

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.stop()


def test_gui_never_stalls_during_a_batch_of_200(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, FakeClassifier())
    files = [grey_image(tmp_path / f"{i:03d}.png", i, 224) for i in range(200)]
    with StallMeter() as meter:
        with qtbot.waitSignal(window.sig_batch_finished, timeout=120000):
            drop(window, files)
    assert window.db.count() == 200
    assert meter.worst < MAX_STALL_MS, meter.worst


def test_gui_never_stalls_while_a_batch_report_is_written(qtbot, tmp_path):
    from fakes import skin_image

    window = make_window(qtbot, tmp_path, FakeClassifier())
    files = [skin_image(tmp_path / f"{i:03d}.png", 0.3 + i / 100, 224) for i in range(20)]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=120000):
        drop(window, files)
    with StallMeter() as meter:
        with qtbot.waitSignal(window.sig_report_finished, timeout=300000) as blocker:
            window.start_batch_report(str(tmp_path / "batch.pdf"))
    assert blocker.args == ["finished"] and (tmp_path / "batch.pdf").stat().st_size > 0
    assert meter.worst < MAX_STALL_MS, meter.worst


def test_gui_never_stalls_during_training(qtbot, tmp_path, random_backbones):
    from synthetic import write_labels_csv

    from melanoma_desktop.core.registry import ModelRegistry
    from melanoma_desktop.ui.wizard import RetrainWizard
    from melanoma_desktop.ui.worker import JobRunner

    data = write_labels_csv(tmp_path / "data", n_per_class=10)
    wizard = RetrainWizard(JobRunner(), ModelRegistry(tmp_path / "m"), tmp_path / "runs", {},
                           backbones=str(random_backbones), cache_dir=str(tmp_path / "cache"))
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.data_page.path_edit.setText(str(data))
    wizard.data_page.inspect()
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=30000)
    wizard.next()
    page = wizard.setup_page
    page.recipe.setCurrentIndex(page.recipe.findData("paper"))  # Quick: a tiny run
    for name, box in page.model_boxes.items():
        box.setChecked(name in ("cnn", "mobilenetv2"))
    page.protocol.setCurrentText("full")
    page.epochs.setValue(2)
    page.batch_size.setValue(4)
    page.alpha.setCurrentText("0.35")
    page.check()
    qtbot.waitUntil(page.isComplete, timeout=60000)
    with StallMeter() as meter:
        with qtbot.waitSignal(wizard.train_page.sig_training_finished, timeout=180000) as blocker:
            wizard.next()
    assert blocker.args == ["finished"]
    assert meter.worst < MAX_STALL_MS, meter.worst


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:2]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_triage_path_runs_with_sockets_blocked(tiny_bundles, tmp_path, no_network, monkeypatch):
    from melanoma_desktop.core.classifier import load_models
    from melanoma_desktop.core.database import CaseDatabase
    from melanoma_desktop.core.triage import triage_paths

    monkeypatch.delenv("MELANOMA_BACKBONES", raising=False)
    models_dir, backbones, data = tiny_bundles
    models = load_models(models_dir, backbones)
    assert all(i.available for i in models.model_infos())
    files = sorted((data / "images").glob("*.png"))[:3]
    with CaseDatabase(tmp_path / "c.db") as db:
        items = list(triage_paths(files, models, save=db.save))
    assert len(items) == 3 and all(i.record for i in items)


def test_missing_backbone_is_not_downloaded_by_the_app(tiny_bundles, tmp_path, no_network, monkeypatch):
    from melanoma_desktop.core.classifier import load_models

    monkeypatch.delenv("MELANOMA_BACKBONES", raising=False)
    models_dir, _, _ = tiny_bundles
    models = load_models(models_dir, tmp_path / "nothing here")  # would need a download: refused, not tried
    infos = {i.name: i for i in models.model_infos()}
    assert infos["cnn"].available and not infos["mobilenetv2"].available
    assert "--backbones" in infos["mobilenetv2"].reason

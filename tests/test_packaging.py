"""The package as a clinic installs it: a wheel that holds the code, the models and the backbones they
need, and finds them without the source tree (``trainer.shipped``)."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESOURCES_BUDGET_BYTES = 100_000_000


def _source_files(package: str) -> set[str]:
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    try:
        import setuptools  # noqa: F401  (the build backend, installed by the test extra: no download)
    except ImportError:
        pytest.skip("setuptools is not installed: pip install -e '.[test]'")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = out.glob("melanoma_desktop-*.whl")
    return path


def test_the_wheel_holds_every_module_model_backbone_and_icon(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing_code = (_source_files("trainer") | _source_files("melanoma_desktop")) - names
    assert not missing_code, f"modules left out of the wheel (list the package in pyproject.toml): {missing_code}"
    shipped = {"melanoma_resources/" + p.relative_to(ROOT / "resources").as_posix()
               for p in (ROOT / "resources").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert shipped - names == set()
    for required in ("models/selftest.json", "models/ensemble.json", "models/vgg16/card.json",
                     "backbones/vgg16_imagenet_notop.h5", "backbones/mobilenet_v2_0.35_224_imagenet_notop.h5",
                     "backbones/NOTICE.md", "quality/feature_gate.npz", "icons/app.png"):
        assert "melanoma_resources/" + required in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "melanoma-desktop = melanoma_desktop.__main__:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_an_installed_wheel_finds_its_own_resources(wheel, tmp_path):
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target",
                           str(target), str(wheel)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # -S: no site-packages, so neither the editable install nor the checkout can answer
    probe = ("import trainer.shipped as s, trainer.models.backbones as b; print(s.resources_dir()); "
             "print(b.resolve_weights('vgg16', 1.0, allow_download=False))")
    found = subprocess.run([sys.executable, "-S", "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                           env={"PYTHONPATH": str(target), "HOME": str(tmp_path)}, timeout=60)
    assert found.returncode == 0, found.stderr
    resources, vgg = found.stdout.split()
    assert Path(resources) == target / "melanoma_resources"
    assert Path(vgg) == target / "melanoma_resources" / "backbones" / "vgg16_imagenet_notop.h5"


def test_resources_stay_within_their_budget():
    size = sum(p.stat().st_size for p in (ROOT / "resources").rglob("*") if p.is_file())
    assert size <= RESOURCES_BUDGET_BYTES, f"resources/ holds {size / 1e6:.1f} MB, over the 100 MB budget"

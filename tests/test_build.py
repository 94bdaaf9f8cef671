"""Builds the PyInstaller bundle and runs its self-test headless. Slow (minutes): ``pytest -m build``."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.build
def test_bundle_builds_and_passes_its_self_test(tmp_path):
    if shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("PyInstaller is not installed: pip install -e '.[build]'")
    if not os.environ.get("MELANOMA_DATA") or not os.environ.get("MELANOMA_BACKBONES"):
        pytest.skip("MELANOMA_DATA and MELANOMA_BACKBONES are needed for the sample images and backbone weights")
    if not any((ROOT / "resources" / "models").glob("*/card.json")):
        pytest.skip("no shipped model bundles in resources/models")
    pyinstaller = Path(sys.executable).parent / "pyinstaller"
    subprocess.run([str(pyinstaller), "build.spec", "--noconfirm", "--distpath", str(tmp_path / "dist"),
                    "--workpath", str(tmp_path / "work")], cwd=ROOT, check=True, timeout=3600)
    exe = tmp_path / "dist" / "MelanomaTriage" / "MelanomaTriage"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MELANOMA_HOME=str(tmp_path / "home"))
    env.pop("MELANOMA_BACKBONES")  # the bundle must find its own copy
    proc = subprocess.run([str(exe), "--self-test"], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SELF-TEST PASSED" in proc.stdout

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
    if not any((ROOT / "resources" / "models").glob("*/card.json")):
        pytest.skip("no shipped model bundles in resources/models")
    pyinstaller = Path(sys.executable).parent / "pyinstaller"
    subprocess.run([str(pyinstaller), "build.spec", "--noconfirm", "--distpath", str(tmp_path / "dist"),
                    "--workpath", str(tmp_path / "work")], cwd=ROOT, check=True, timeout=3600)
    exe = tmp_path / "dist" / "MelanomaTriage" / "MelanomaTriage"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MELANOMA_")}  # the bundle finds its own files
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path / "home"), MELANOMA_HOME=str(tmp_path / "home"))
    proc = subprocess.run([str(exe), "--self-test"], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SELF-TEST PASSED" in proc.stdout
    assert str(tmp_path / "dist") in proc.stdout  # its own resources, not the source tree's
    # the bundle reads a DICOM file too (pydicom finds its pixel decoders at run time)
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.pixels import set_pixel_data
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.PatientID = "P-BUILD"
    set_pixel_data(ds, np.full((160, 160, 3), (200, 150, 130), np.uint8), "RGB", 8)
    ds.save_as(tmp_path / "lesion.dcm", enforce_file_format=True)
    triaged = subprocess.run([str(exe), "triage", "--json", "--data-dir", str(tmp_path / "home"),
                              str(tmp_path / "lesion.dcm")], env=env, capture_output=True, text=True, timeout=600)
    assert triaged.returncode == 0, triaged.stdout + triaged.stderr
    assert '"models"' in triaged.stdout
    # the case database inside the bundle: its migrations (Alembic reads them as files), a backup, and a
    # PostgreSQL server reached through the bundled driver (tests/pg_server.py)
    assert (tmp_path / "home" / "cases.sqlite3").is_file()
    backed = subprocess.run([str(exe), "backup", str(tmp_path / "copy.sqlite3"), "--data-dir", str(tmp_path / "home")],
                            env=env, capture_output=True, text=True, timeout=600)
    assert backed.returncode == 0 and (tmp_path / "copy.sqlite3").is_file(), backed.stdout + backed.stderr
    from pg_server import new_database

    url = new_database(tmp_path)
    served = subprocess.run([str(exe), "history", "--patient", "P-NONE", "--database", url, "--data-dir",
                             str(tmp_path / "home")], env=env, capture_output=True, text=True, timeout=600)
    assert "no patient 'P-NONE'" in served.stderr, served.stdout + served.stderr  # connected and migrated
    # ... and compressed DICOM through each decoder it ships (docs/packaging.md): 12-bit JPEG and JPEG lossless
    # (imagecodecs), JPEG 2000 (pylibjpeg-openjpeg), JPEG-LS (pyjpegls), RLE (pylibjpeg-rle)
    import pydicom.data

    files = [Path(pydicom.data.__file__).parent / "test_files" / name for name in (
        "JPGExtended.dcm", "SC_rgb_jpeg_gdcm.dcm", "SC_rgb_gdcm_KY.dcm", "SC_rgb_jls_lossy_line.dcm", "SC_rgb_rle.dcm")]
    compressed = subprocess.run([str(exe), "triage", "--json", "--data-dir", str(tmp_path / "home"), *map(str, files)],
                                env=env, capture_output=True, text=True, timeout=600)
    assert compressed.returncode == 0, compressed.stdout + compressed.stderr  # every file decoded (2: one was not)
    assert len(compressed.stdout.splitlines()) == len(files)

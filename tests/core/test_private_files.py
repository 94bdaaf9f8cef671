"""Patient data readable by its owner only (#30, item 13): the user data folder, the case database and its
WAL files, exports of a patient's data; an earlier release's open folder is tightened on start."""

import os
import sqlite3
import stat
import subprocess
import sys

import pytest

from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.patients import Identity
from melanoma_desktop.core.private_files import is_owner_only, secure_user_data_dir
from melanoma_desktop.core.triage import triage_paths

from fakes import FakeClassifier, skin_image

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX; Windows uses the profile's ACL")


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def open_umask():
    """The umask most systems start a process with: what would leave files readable by others."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_a_new_case_database_and_its_wal_files_are_the_owners_alone_whatever_the_umask(tmp_path, open_umask):
    path = tmp_path / "fresh" / "cases.sqlite3"
    with CaseDatabase(path) as db:
        for item in triage_paths([skin_image(tmp_path / "a.png", 0.6)], FakeClassifier(), save=db.save):
            db.assign(item.record.id, Identity("P1", "left calf", "lower leg", "2026-01-05", "Doe^Jane", "1970-01-01"))
        wal = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(p.exists() for p in wal)  # the database is open in WAL mode: both files are there now
        assert {_mode(p) for p in [path, *wal]} == {0o600}
    assert _mode(path.parent) == 0o700


def test_an_export_of_a_patients_data_is_the_owners_alone(tmp_path, open_umask):
    image = skin_image(tmp_path / "lesion.png", 0.6)
    os.chmod(image, 0o644)  # the clinic's own file, readable by all: its copy in the export is not
    with CaseDatabase(tmp_path / "c.sqlite3") as db:
        for item in triage_paths([image], FakeClassifier(), save=db.save):
            db.assign(item.record.id, Identity("P1", "left calf"))
        out = db.export_patient("P1", tmp_path / "export")
    copies = list((tmp_path / "export" / "images").iterdir())
    assert len(copies) == 1 and _mode(copies[0]) == 0o600 and _mode(out) == 0o600
    assert _mode(tmp_path / "export") == 0o700 and _mode(tmp_path / "export" / "images") == 0o700


def test_an_earlier_releases_open_data_folder_is_tightened_on_start(tmp_path, open_umask):
    home = tmp_path / "data"
    (home / "pasted").mkdir(parents=True)
    (home / "pasted" / "pasted-1.png").write_bytes(b"png")
    conn = sqlite3.connect(home / "cases.sqlite3")  # as the release before this one made it: 0644 in 0755
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    os.chmod(home, 0o755)
    assert _mode(home / "cases.sqlite3") == 0o644
    changed = secure_user_data_dir(home)
    conn.close()
    assert home / "cases.sqlite3" in changed and home / "pasted" / "pasted-1.png" in changed
    for dirpath, dirnames, filenames in os.walk(home):
        for name in [*dirnames, *filenames, "."]:
            assert is_owner_only(os.path.join(dirpath, name)), os.path.join(dirpath, name)
    assert secure_user_data_dir(home) == []  # nothing left to tighten


def test_the_command_line_tightens_the_data_folder_and_creates_with_the_owners_umask(tmp_path, open_umask):
    home = tmp_path / "data"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    (home / "notes.txt").write_text("x")
    os.chmod(home / "notes.txt", 0o644)
    proc = subprocess.run([sys.executable, "-m", "melanoma_desktop", "history", "--patient", "nobody",
                           "--data-dir", str(home)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "no patient 'nobody'" in proc.stderr  # the command itself ran
    assert "now the owner's alone" in proc.stderr
    assert _mode(home) == 0o700 and _mode(home / "notes.txt") == 0o600
    assert _mode(home / "cases.sqlite3") == 0o600  # created by the command

"""Backup and restore of this computer's case database from the command line: consistent while the app has it
open, an older backup upgraded on restore, a newer one refused with a clear message."""

import sqlite3
import subprocess
import sys

from melanoma_desktop.core.database import MIGRATIONS, SCHEMA_VERSION, CaseDatabase

from storage_records import _record


def _cli(*args, home):
    return subprocess.run([sys.executable, "-m", "melanoma_desktop", *args, "--data-dir", str(home)],
                          capture_output=True, text=True, timeout=120)


def test_backup_while_open_then_restore_and_refuse_a_newer_schema(tmp_path):
    home = tmp_path / "data"
    with CaseDatabase(home / "cases.sqlite3") as db:  # the app is running with the database open
        for i in range(3):
            db.save(_record(f"b{i}"))
        done = _cli("backup", str(tmp_path / "monday.sqlite3"), home=home)
        assert done.returncode == 0, done.stderr
        db.save(_record("after-the-backup"))
    assert (tmp_path / "monday.sqlite3").stat().st_mode & 0o077 == 0  # owner-only, like the database
    again = _cli("backup", str(tmp_path / "monday.sqlite3"), home=home)
    assert again.returncode == 2 and "exists already" in again.stderr
    restored = _cli("restore", str(tmp_path / "monday.sqlite3"), home=home)
    assert restored.returncode == 0 and "restored 3 case(s)" in restored.stdout, restored.stderr
    kept = next(home.glob("cases.sqlite3.before-restore-*"))
    with CaseDatabase(home / "cases.sqlite3") as db:
        assert db.count() == 3 and db.audit_trail()[-1]["action"] == "database restored from a backup"
    with CaseDatabase(kept) as before:
        assert before.count() == 4  # the database before the restore is kept whole
    newer = tmp_path / "newer.sqlite3"
    conn = sqlite3.connect(newer)
    conn.executescript(f"CREATE TABLE alembic_version (version_num TEXT); "
                       f"INSERT INTO alembic_version VALUES ('{SCHEMA_VERSION + 5:04d}');")
    conn.close()
    refused = _cli("restore", str(newer), home=home)
    assert refused.returncode == 2 and f"schema version {SCHEMA_VERSION + 5}, newer than this program" in refused.stderr
    with CaseDatabase(home / "cases.sqlite3") as db:
        assert db.count() == 3  # nothing changed


def test_an_older_backup_is_upgraded_on_restore(tmp_path):
    old = tmp_path / "2025.sqlite3"
    conn = sqlite3.connect(old)
    for step in MIGRATIONS[:7]:
        conn.executescript(step)
    conn.execute("PRAGMA user_version = 7")
    conn.execute("INSERT INTO cases (sha256, path, created_at, updated_at, mean_p_malignant, n_malignant, n_models) "
                 "VALUES ('old', '/o.jpg', 't', 't', 0.5, 1, 2)")
    conn.commit()
    conn.close()
    home = tmp_path / "data"
    done = _cli("restore", str(old), home=home)
    assert done.returncode == 0 and "restored 1 case(s)" in done.stdout, done.stderr
    with CaseDatabase(home / "cases.sqlite3") as db:
        assert db.schema_version() == SCHEMA_VERSION and db.find_by_sha("old") is not None

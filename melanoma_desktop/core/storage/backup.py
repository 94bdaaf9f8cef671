"""Backup and restore of this computer's case database (SQLite). A backup is taken with SQLite's online backup:
consistent while the app is running. A restore refuses a file of a newer schema than this program, keeps the
current database beside it first, and upgrades an older backup in place. A shared PostgreSQL database is backed up
on its server with ``pg_dump`` (docs/clinic-database.md)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from melanoma_desktop.core.private_files import create_private_file, make_private_dir
from melanoma_desktop.core.storage.engine import DatabaseError
from melanoma_desktop.core.storage.migrate import check_file_revision


def _sqlite_only(target) -> Path:
    if not isinstance(target, Path):
        raise DatabaseError("this app uses a shared PostgreSQL database: back it up on the server with pg_dump "
                            "(docs/clinic-database.md), not from a workstation")
    return target


def _copy(source: Path, destination: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(destination)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def backup(target, destination: str | Path) -> Path:
    """Write a consistent copy of the database ``target`` (its SQLite file) to ``destination`` (owner-only)."""
    source = _sqlite_only(target)
    if not source.is_file():
        raise DatabaseError(f"there is no case database at {source} to back up")
    destination = Path(destination)
    if destination.exists():
        raise DatabaseError(f"{destination} exists already; choose a new file name for the backup")
    create_private_file(destination)
    _copy(source, destination)
    return destination


def restore(target, source: str | Path) -> tuple[Path | None, int]:
    """Replace the database ``target`` with the backup ``source`` (then upgraded if older). Returns the file the
    current database was kept in (None when there was none) and the backup's schema version."""
    database = _sqlite_only(target)
    source = Path(source)
    if not source.is_file():
        raise DatabaseError(f"no backup file at {source}")
    version = check_file_revision(source)  # refuses a newer schema, or a file that is not a case database
    kept = None
    if database.is_file():
        kept = database.with_name(f"{database.name}.before-restore-{datetime.now():%Y%m%d-%H%M%S}")
        create_private_file(kept)
        _copy(database, kept)
    else:
        make_private_dir(database.parent)
        create_private_file(database)
    src, dst = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(database, timeout=10)
    try:
        src.backup(dst)  # page by page into the live file, under SQLite's lock: never half a file
    finally:
        src.close()
        dst.close()
    return kept, version

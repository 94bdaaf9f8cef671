"""Schema migrations with Alembic (core/storage/migrations): the same history on SQLite and PostgreSQL.

Releases before it kept SQLite only and numbered their schema in ``PRAGMA user_version`` (1-9); such a file is
stamped with the revision of the same number and upgraded from there, every case kept. SQLite's
``user_version`` follows the revision afterwards, so that an older release refuses the file instead of
misreading it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from melanoma_desktop.core.storage.engine import DatabaseError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_LOCK_KEY = 7_310_002  # PostgreSQL advisory lock: one workstation migrates at a time


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    return _scripts().get_current_head()


HEAD = int(head_revision())


def current_revision(connection: sa.Connection) -> str | None:
    """The schema revision of the database behind ``connection`` (None for an empty database); a legacy SQLite
    file's ``user_version`` is read as its revision."""
    if sa.inspect(connection).has_table("alembic_version"):
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    if connection.dialect.name == "sqlite":
        legacy = int(connection.exec_driver_sql("PRAGMA user_version").scalar())
        return f"{legacy:04d}" if legacy else None
    return None


def upgrade(engine: sa.Engine, where: str) -> str | None:
    """Bring the database to the newest schema; returns the revision it had before (None: it was empty).
    Refuses a database of a newer schema than this program knows, naming both."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        if sqlite:  # a table rebuilt by a migration must not cascade-delete what refers to it
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.execution_options(immediate=True).begin():
                if not sqlite:
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
                before = current_revision(connection)
                _refuse_newer(before, where)
                if before != head_revision():
                    if before and not sa.inspect(connection).has_table("alembic_version"):
                        connection.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL "
                                                   "PRIMARY KEY)"))
                        connection.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": before})
                    config = _config()
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
            if sqlite:
                raw.execute(f"PRAGMA user_version = {HEAD}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")
    return before


def _refuse_newer(revision: str | None, where: str) -> None:
    if revision is None:
        return
    known = {s.revision for s in _scripts().walk_revisions()}
    if revision not in known:
        raise DatabaseError(f"{where} has schema version {int(revision) if revision.isdigit() else revision}, newer "
                            f"than this program ({HEAD}); update the program")


def check_file_revision(path: Path) -> int:
    """The schema version of a SQLite file (a backup to restore), without changing it; refuses a newer one."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            revision = current_revision(connection)
    except sa.exc.DatabaseError as exc:
        raise DatabaseError(f"{path} is not a case database ({exc.orig}); choose a backup the app wrote") from None
    finally:
        engine.dispose()
    if revision is None:
        raise DatabaseError(f"{path} holds no case database; choose a backup the app wrote")
    _refuse_newer(revision, str(path))
    return int(revision)

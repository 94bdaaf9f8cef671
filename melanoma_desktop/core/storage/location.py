"""Which case database this app uses, and where a shared clinic keeps its images.

In order: ``--database URL`` on the command line, ``$MELANOMA_DATABASE_URL``, Settings > Database (kept in the
data folder's ``database.json``: the URL without any password, TLS mode, the clinic image store), else the
SQLite file ``cases.sqlite3`` in the data folder (one computer, the default)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import text

from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.private_files import create_private_file
from melanoma_desktop.core.storage.engine import DatabaseError, resolve_url, shown_url, url_from_environment

SETTINGS_FILE = "database.json"
SQLITE_FILE = "cases.sqlite3"
SSL_MODES = ("prefer", "require", "verify-full")


@dataclass(frozen=True)
class DatabaseSettings:
    """Settings > Database. ``url`` empty: this computer's own SQLite file. ``image_store``: the folder every
    workstation mounts, where each triaged image is copied (by its SHA-256) when the database is shared."""

    url: str = ""
    ssl_mode: str = "prefer"
    image_store: str = ""

    def checked(self) -> "DatabaseSettings":
        if self.ssl_mode not in SSL_MODES:
            raise DatabaseError(f"TLS mode {self.ssl_mode!r} is not one of {SSL_MODES}")
        if self.url:
            url = resolve_url(self.url)  # refuses a password
            if url.get_backend_name() != "postgresql":
                raise DatabaseError(f"{shown_url(url)}: a shared database is a PostgreSQL server "
                                    "(postgresql://user@host/dbname); leave it empty for this computer's own file")
            if not self.image_store:
                raise DatabaseError("a shared database needs a clinic image store: a folder every workstation "
                                    "mounts, where the images are copied")
        return self

    def target(self) -> str:
        """The URL to connect to, with the TLS mode (libpq's ``sslmode``) unless the URL names one."""
        if not self.url:
            return ""
        url = resolve_url(self.url)
        if "sslmode" not in url.query:
            url = url.update_query_dict({"sslmode": self.ssl_mode})
        return url.render_as_string(hide_password=False).replace("postgresql+psycopg", "postgresql")


def load_settings(data_dir: Path) -> DatabaseSettings:
    path = Path(data_dir) / SETTINGS_FILE
    if not path.is_file():
        return DatabaseSettings()
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        return DatabaseSettings(**{k: str(values.get(k, "")) or v for k, v in asdict(DatabaseSettings()).items()})
    except (ValueError, TypeError) as exc:
        raise DatabaseError(f"{path} cannot be read ({exc}); fix it or delete it to use this computer's own "
                            "database") from None


def save_settings(data_dir: Path, settings: DatabaseSettings) -> Path:
    settings.checked()
    path = create_private_file(Path(data_dir) / SETTINGS_FILE)
    path.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Storage:
    """Where the app keeps its cases: the database (a URL, or the SQLite file's path) and, when it is shared,
    the clinic image store."""

    target: str | Path
    image_store: Path | None = None


def storage_for(data_dir: Path, explicit: str | None = None) -> Storage:
    """The database this app opens and, when it is a shared one, the clinic image store (Settings > Database)."""
    target = database_target(data_dir, explicit)
    if isinstance(target, Path):
        return Storage(target)
    folder = load_settings(data_dir).image_store
    return Storage(target, Path(folder) if folder else None)


def database_target(data_dir: Path, explicit: str | None = None) -> str | Path:
    """The database this app opens (a URL, or the SQLite file's path)."""
    if explicit:
        return explicit if "://" in str(explicit) else Path(explicit)
    from_environment = url_from_environment()
    if from_environment:
        return from_environment
    settings = load_settings(data_dir)
    return settings.target() or Path(data_dir) / SQLITE_FILE


def connection_report(target) -> str:
    """One line on a database the app could use: reachable, its schema, how many cases, and for a server the
    TLS state; raises DatabaseError with the reason otherwise. (Settings > Database's "Test connection".)"""
    with CaseDatabase(target) as db:
        cases = db.count()
        if db.sqlite:
            return f"This computer's database {db.where}: schema {db.schema_version()}, {cases} case(s)."
        with db.engine.connect() as c:
            version = c.execute(text("SHOW server_version")).scalar()
            tls = c.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar()
        return (f"Connected to {db.where} (PostgreSQL {version}): schema {db.schema_version()}, {cases} case(s); "
                + ("TLS in use." if tls else "TLS NOT in use (the server does not offer it, or it is a local socket)."))

"""Where the case database lives: a SQLite file on this computer (the default) or a PostgreSQL server that
several workstations share, reached through SQLAlchemy Core.

A server's password never passes through the app: PostgreSQL's own password file (``~/.pgpass``, or
``PGPASSFILE``) or service file (``postgresql:///?service=clinic``) supplies it; a URL that carries one is
refused with a message saying so. TLS is used when the server offers it (libpq's ``sslmode=prefer``, the
default); ``?sslmode=require`` insists on it.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

DATABASE_URL_VARIABLE = "MELANOMA_DATABASE_URL"


class DatabaseError(Exception):
    """The case database cannot be opened, reached or upgraded, or is of a newer version than this program."""


class PasswordInUrlError(DatabaseError):
    """A database URL carried a password, which the app neither stores nor logs."""


def resolve_url(target: str | Path) -> URL:
    """``target`` as a database URL: a path is a SQLite file; ``sqlite:///…`` and ``postgresql://…`` are taken as
    given (``postgresql://`` uses the psycopg driver). A password in the URL is refused."""
    text = str(target)
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text)))
    try:
        url = make_url(text)
    except sa.exc.ArgumentError:  # (the text itself is not repeated: it may hold a password)
        raise DatabaseError("not a database URL; give a file path or postgresql://user@host/dbname") from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseError(f"unsupported database {backend!r} in {shown_url(url)}; use a file path (SQLite) or "
                            "postgresql://user@host/dbname")
    if url.password or any(key.lower() == "password" for key in url.query):
        raise PasswordInUrlError(
            f"the database URL {shown_url(url)} contains a password; remove it and put it in PostgreSQL's password "
            "file (~/.pgpass, mode 0600) or a service file (postgresql:///?service=NAME), which the app never "
            "stores or logs")
    if backend == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def shown_url(url: URL | str) -> str:
    """A URL as the app writes it in settings, logs and messages: never with a password."""
    url = make_url(url) if isinstance(url, str) else url
    if not url.password:
        url = url._replace(password=None)  # no "user:***@" for a password that is not there
    if any(key.lower() == "password" for key in url.query):
        url = url.difference_update_query([k for k in url.query if k.lower() == "password"])
    return url.render_as_string(hide_password=True).replace("postgresql+psycopg://", "postgresql://")


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def url_from_environment() -> str | None:
    return os.environ.get(DATABASE_URL_VARIABLE) or None


def make_engine(url: URL) -> Engine:
    """An engine for ``url``. SQLite: write-ahead log, foreign keys, deleted bytes overwritten, and transactions
    that write begin ``IMMEDIATE`` (two workstations' threads queue instead of failing half-way)."""
    if is_sqlite(url):
        engine = sa.create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # SQLAlchemy says when a transaction begins (below)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "secure_delete=ON"):
                dbapi_connection.execute(f"PRAGMA {pragma}")

        @sa.event.listens_for(engine, "begin")
        def _on_begin(connection):
            immediate = connection.get_execution_options().get("immediate")
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2,
                            connect_args={"application_name": "melanoma-desktop", "connect_timeout": 10})


def statement(sql: str, params: dict | None = None) -> sa.TextClause:
    """``sql`` as a statement; a parameter given a list (``id IN :ids``) is expanded into one value each."""
    clause = sa.text(sql)
    lists = [k for k, v in (params or {}).items() if isinstance(v, (list, tuple))]
    return clause.bindparams(*[sa.bindparam(k, expanding=True) for k in lists]) if lists else clause

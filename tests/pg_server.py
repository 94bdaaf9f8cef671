"""A real PostgreSQL server for the storage tests: PostgreSQL 16 from the ``pgserver`` package (binaries on
PyPI: no root, no system package), one server per test process, a new database per test. When no server can be
started, the PostgreSQL tests skip and say why."""

from __future__ import annotations

import itertools
from pathlib import Path

_server = None
_failure: str | None = None
_numbers = itertools.count()


def server_url(base_dir: Path) -> str:
    """The URL of this process's server (started on first use), e.g. postgresql://postgres@/postgres?host=…"""
    global _server, _failure
    if _server is None and _failure is None:
        try:
            import pgserver

            _server = pgserver.get_server(str(base_dir / "pgdata"), cleanup_mode="stop")
        except Exception as exc:  # no binaries for this platform, no shared memory, ...
            _failure = f"no PostgreSQL server could be started here ({type(exc).__name__}: {exc})"
    if _failure:
        import pytest

        pytest.skip(_failure)
    return _server.get_uri()


def new_database(base_dir: Path) -> str:
    """A new, empty database on the server; its URL (no password: the server trusts its local socket)."""
    import sqlalchemy as sa

    url = sa.make_url(server_url(base_dir)).set(drivername="postgresql+psycopg")
    name = f"t{next(_numbers)}_{base_dir.name[-8:].lower().replace('-', '_')}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return url.set(database=name)._replace(password=None).render_as_string(hide_password=False).replace(
        "postgresql+psycopg", "postgresql")

"""PostgreSQL: the search box's words found through a trigram index (pg_trgm), so that a search of a large
history reads only the matching cases. Where the extension cannot be created (a role without the right), the
search still works, by reading every case's search text. SQLite's search reads its covering index instead
(revision 0010)."""

from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    bind = op.get_bind()
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        savepoint.commit()
    except Exception:  # not permitted: the search reads every row, as before
        savepoint.rollback()
        return
    op.execute("CREATE INDEX case_search_trigrams ON case_search USING gin (words gin_trgm_ops)")

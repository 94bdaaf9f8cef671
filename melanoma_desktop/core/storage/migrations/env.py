"""Alembic's environment for the case database: migrations run on the connection core.storage.migrate hands
over (``config.attributes["connection"]``), on SQLite and PostgreSQL alike."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

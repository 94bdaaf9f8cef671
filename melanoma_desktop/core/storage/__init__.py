"""Storage of the case database on SQLite (one computer) or PostgreSQL (several workstations): engines and URLs,
Alembic migrations, the derived worklist columns and the worklist's queries. No Qt."""

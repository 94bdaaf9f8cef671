"""The quality gate's verdict per case (JSON: ok, flags, measures)."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("cases", sa.Column("quality", sa.Text, nullable=False, server_default="{}"))

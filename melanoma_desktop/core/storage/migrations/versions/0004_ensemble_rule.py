"""The ensemble rule a case was read with (JSON) and whether it is flagged."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.add_column("cases", sa.Column("ensemble", sa.Text, nullable=False, server_default="{}"))
    op.add_column("cases", sa.Column("flagged", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE cases SET flagged = CASE WHEN n_malignant > 0 THEN 1 ELSE 0 END")

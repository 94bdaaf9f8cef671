"""Heatmaps cached per case and model version (grey PNG, 0-255)."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "heatmaps",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("png", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "model"),
    )

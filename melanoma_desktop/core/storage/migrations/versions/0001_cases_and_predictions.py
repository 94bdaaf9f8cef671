"""Cases (one per image, by SHA-256) and each model's answer (user_version 1 of the SQLite-only releases)."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.Text, nullable=False, unique=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("thumbnail", sa.LargeBinary),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
        sa.Column("mean_p_malignant", sa.Float, nullable=False),
        sa.Column("n_malignant", sa.Integer, nullable=False),
        sa.Column("n_models", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("clinician_label", sa.Text),
        sa.Column("reviewed", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "predictions",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("p_malignant", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "model"),
    )
    op.create_index("cases_risk", "cases", [sa.text("mean_p_malignant DESC")])

"""One combined risk per case (refilled from the stored predictions after the upgrade), images that cannot be
assessed, the management decision, the assessment's new words, and an audit trail without image data."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("cases", sa.Column("risk", sa.Float))
    op.add_column("cases", sa.Column("assessable", sa.Integer, nullable=False, server_default="1"))
    op.add_column("cases", sa.Column("assess_anyway", sa.Integer, nullable=False, server_default="0"))
    op.add_column("cases", sa.Column("management", sa.Text))
    op.execute("UPDATE cases SET clinician_label = 'melanoma' WHERE clinician_label = 'malignant'")
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )

"""Patients (an ID the clinic chooses), their lesions, and each case's lesion and visit date."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("birth_date", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "lesions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.Text, sa.ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("body_site", sa.Text, nullable=False, server_default=""),
        sa.Column("excised", sa.Integer, nullable=False, server_default="0"),
        sa.Column("outcome", sa.Text, nullable=False, server_default=""),
        sa.UniqueConstraint("patient_id", "label"),
    )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("lesion_id", sa.Integer))
        batch.add_column(sa.Column("taken_at", sa.Text))
        batch.create_foreign_key("cases_lesion", "lesions", ["lesion_id"], ["id"], ondelete="SET NULL")

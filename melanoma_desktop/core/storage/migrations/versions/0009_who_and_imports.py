"""A patient's sex; who did what (audit, reviews, confirmed diagnoses); imports of confirmed diagnoses with the
values they replaced, so that one can be undone as one step."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.add_column("patients", sa.Column("sex", sa.Text, nullable=False, server_default=""))
    op.add_column("audit", sa.Column("who", sa.Text, nullable=False, server_default=""))
    op.add_column("cases", sa.Column("reviewed_by", sa.Text, nullable=False, server_default=""))
    op.add_column("cases", sa.Column("reviewed_at", sa.Text))
    op.add_column("cases", sa.Column("confirmed_by", sa.Text, nullable=False, server_default=""))
    op.create_table(
        "confirmed_imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("previous", sa.Text, nullable=False),
        sa.Column("undone_at", sa.Text),
    )

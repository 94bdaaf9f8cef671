"""The confirmed diagnosis, its source and date, apart from the clinician's first assessment."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    for column in ("confirmed_label", "confirmed_source", "confirmed_at"):
        op.add_column("cases", sa.Column(column, sa.Text))

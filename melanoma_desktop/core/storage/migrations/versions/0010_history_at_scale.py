"""A clinic's history at scale, on one workstation or several:

- thumbnails in their own table (a case's row stays small, so a worklist query reads no image bytes);
- each case's row version (two workstations editing one case: the second save is refused, not lost);
- what the worklist filters, searches and sorts on, as indexed columns: the case on the flag line in use
  (risk, flag, disagreement, † for other model versions, group), the change since the lesion's last visit, the
  visit date, file name, patient and lesion; and each case's lower-case search words in a narrow table;
- settings the clinic shares (the flag line in use) and a change log other workstations follow.

The new columns are filled by core.storage.derived after the upgrade (they need the stored predictions)."""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"

ORDER = ["sort_group", sa.text("shown_risk DESC"), sa.text("shown_flagged DESC"), sa.text("id DESC")]


def upgrade() -> None:
    op.create_table(
        "thumbnails",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("png", sa.LargeBinary, nullable=False),
    )
    op.execute("INSERT INTO thumbnails (case_id, png) SELECT id, thumbnail FROM cases WHERE thumbnail IS NOT NULL")
    op.drop_index("cases_risk", table_name="cases")
    new_columns = [
        sa.Column("row_version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("file_name", sa.Text, nullable=False, server_default=""),
        sa.Column("visit_date", sa.Text, nullable=False, server_default=""),
        sa.Column("patient_key", sa.Text),
        sa.Column("lesion_key", sa.Text),
        sa.Column("shown_line", sa.Text, nullable=False, server_default=""),
        sa.Column("shown_risk", sa.Float),
        sa.Column("shown_flagged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("shown_disagreement", sa.Integer, nullable=False, server_default="0"),
        sa.Column("shown_other", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sort_group", sa.Integer, nullable=False, server_default="0"),
        sa.Column("change_mark", sa.Text, nullable=False, server_default=""),
        sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
    ]
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("thumbnail")
        for column in new_columns:
            batch.add_column(column)
    op.create_index("cases_worklist", "cases", ORDER)
    for flag in ("shown_flagged", "shown_disagreement", "changed", "reviewed"):
        op.create_index(f"cases_by_{flag}", "cases", [flag, *ORDER])
    op.create_index("cases_by_file", "cases", [sa.text("lower(file_name)")])
    op.create_index("cases_by_file_name", "cases", ["file_name"])
    op.create_index("cases_by_patient", "cases", ["patient_key", "lesion_key", "visit_date"])
    op.create_index("cases_by_lesion", "cases", ["lesion_id", "visit_date"])
    op.create_index("cases_by_review", "cases", ["reviewed", "clinician_label"])
    op.create_index("cases_by_added", "cases", ["created_at"])
    op.create_index("cases_by_confirmed", "cases", ["confirmed_label"])
    op.create_table(  # what the search box matches, in a narrow table of its own: a search reads only this
        "case_search",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("words", sa.Text, nullable=False),
    )
    op.create_table(
        "clinic_settings",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "change_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
    )

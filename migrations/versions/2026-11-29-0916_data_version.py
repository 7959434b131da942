"""Data version: bumped once by every committing transaction that changed public data.

The cache of public answers keys on it. The triggers are deferred constraint triggers, so the
bump happens at commit and becomes visible together with the data it stands for.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 09:16:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = """
CREATE FUNCTION bump_data_version() RETURNS trigger AS $$
BEGIN
    UPDATE data_version SET version = version + 1, txid = pg_current_xact_id()::text::bigint
    WHERE txid IS DISTINCT FROM pg_current_xact_id()::text::bigint;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

# Every table a public answer (plan, lists, details, dashboard, scorecards, search, open
# data, compliance) is built from.
PUBLIC = [
    "plans",
    "plan_sections",
    "section_agencies",
    "task_groups",
    "tasks",
    "task_agencies",
    "indicators",
    "indicator_targets",
    "indicator_agencies",
    "documents",
    "document_agencies",
    "agencies",
    "agency_group_members",
    "reporting_periods",
    "period_agencies",
    "reports",
    "task_updates",
    "indicator_values",
    "document_updates",
]


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Boolean(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("id", name=op.f("ck_data_version_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (true, 1)")
    op.execute(BUMP)
    for table in PUBLIC:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_bump_data_version"
            f" AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_data_version()"
        )


def downgrade() -> None:
    for table in PUBLIC:
        op.execute(f"DROP TRIGGER {table}_bump_data_version ON {table}")
    op.execute("DROP FUNCTION bump_data_version()")
    op.drop_table("data_version")

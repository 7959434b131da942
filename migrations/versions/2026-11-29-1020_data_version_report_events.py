"""Data version: report events too (the compliance figures read first submissions there).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 10:20:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE CONSTRAINT TRIGGER report_events_bump_data_version"
        " AFTER INSERT OR UPDATE OR DELETE ON report_events"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_data_version()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER report_events_bump_data_version ON report_events")

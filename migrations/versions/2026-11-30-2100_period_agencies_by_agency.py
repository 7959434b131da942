"""The periods that ask an agency, found by the agency (issue 13, item 1).

``ix_period_agencies_agency_id``: who may see an ad hoc request (``GET /periods`` for an
officer: annual periods, or those that ask the caller's agency) was decided by reading every
row of ``period_agencies`` (a sequential scan for the agency's rows, once per page and once
more for its total): 16,000 rows at 100× history, and growing with every period. The
primary key (period_id, agency_id) cannot find an agency's rows; this index can, reading
only that agency's.

Numbered 0024 (after 0022 here): another change of the same round may add 0023; whichever
lands second revises the other.

Revision ID: 0024
Revises: 0022
Create Date: 2026-11-30 21:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_period_agencies_agency_id", "period_agencies", ["agency_id", "period_id"])


def downgrade() -> None:
    op.drop_index("ix_period_agencies_agency_id", table_name="period_agencies")

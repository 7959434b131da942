"""The plan's last approval, found from the newest (issue 13, growth).

``ix_reports_approved_at``: the dashboard's ``last_approval_at`` was ``max(approved_at)``
over every report of the plan, read whole: 5 ms of a 18 ms dashboard at 100× history and
growing with every report. Over this index PostgreSQL reads the newest approvals first and
stops at the first of the plan.

Revision ID: 0025
Revises: 0023
Create Date: 2026-11-30 23:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_reports_approved_at",
        "reports",
        ["approved_at"],
        postgresql_where=sa.text("approved_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_reports_approved_at", table_name="reports")

"""Indexes for answers that must not grow with history (issue 13, items 1 and 3).

- ``ix_indicator_values_series``: the groups (target, level, district, year) of an
  indicator target's values, walked by a skip scan (app/services/history.py): the bounded
  ``series`` of a target costs one probe per group, not a read of every value.
- ``ix_indicator_values_target_as_of``: a target's values newest first
  (``GET /indicators/{code}/values``).
- ``ix_reports_queue``: the review queue (submitted reports, oldest submission first) read
  in its order, instead of a scan of every report of the history and a sort.
(A task's updates by task, for its progress history and ``GET /tasks/{code}/progress``:
``ix_task_updates_task_id`` of migration 0017.)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 18:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_indicator_values_series",
        "indicator_values",
        [
            "target_id",
            sa.text("coalesce(level, '')"),
            sa.text("coalesce(district_agency_id, 0)"),
            "as_of",
            "id",
        ],
    )
    op.create_index(
        "ix_indicator_values_target_as_of", "indicator_values", ["target_id", "as_of", "id"]
    )
    op.create_index(
        "ix_reports_queue",
        "reports",
        ["submitted_at", "id"],
        postgresql_where=sa.text("state = 'submitted'"),
    )


def downgrade() -> None:
    op.drop_index("ix_reports_queue", table_name="reports")
    op.drop_index("ix_indicator_values_target_as_of", table_name="indicator_values")
    op.drop_index("ix_indicator_values_series", table_name="indicator_values")

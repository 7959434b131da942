"""Report events: a comment given with a transition (a return's reason) names it.

The reason for returning a report or an item is written twice in one transaction: on the
transition (the history) and as a comment of the conversation, whose ``event_id`` names
the transition. Deleting the transition deletes its comment.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 09:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("report_events", sa.Column("event_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_report_events_event_id_report_events"),
        "report_events",
        "report_events",
        ["event_id"],
        ["id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_report_events_event_id_report_events"), "report_events", type_="foreignkey"
    )
    op.drop_column("report_events", "event_id")

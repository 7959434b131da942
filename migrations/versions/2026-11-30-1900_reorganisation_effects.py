"""Reorganisations: the day an event's effect on plan items was logged for the sync feed.

``effect_logged_on`` is set when the plan items whose ``responsible`` an event changes have
been logged in the change log: by the write that recorded or corrected it when its date had
come, else by ``dxplan remind`` on the first run on or after its date (app/services/
responsibility_changes.py). Events loaded before this revision are left unlogged, so the
next run logs, once, every item whose responsible agencies changed since the earliest of them.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 19:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reorganisations", sa.Column("effect_logged_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("reorganisations", "effect_logged_on")

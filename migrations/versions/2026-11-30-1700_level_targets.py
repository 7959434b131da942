"""What became of the plan's targets at a level an event ended (district-level indicator targets
after 1 July 2025): a cited, per-target record on the ``level_abolished`` event.

``reorganisations.level_targets`` holds, for each target of a plan set at the ended level, the
outcome (``carried`` by another level, ``no_successor``, ``unknown``), the level that carries it,
whether the record is verified, the reason (vi/en) and the sources. Loaded from the
reorganisation data file; the table already has its grants and data-version trigger (0015).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 17:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "reorganisations",
        sa.Column(
            "level_targets",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("reorganisations", "level_targets")

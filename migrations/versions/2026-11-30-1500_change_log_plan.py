"""Change log: each change of a plan-scoped object names its plan (issue 11, item 6).

Skeleton reserving the revision number; filled in by the same helper (H11c).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 15:00:00+00:00
"""

from collections.abc import Sequence

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

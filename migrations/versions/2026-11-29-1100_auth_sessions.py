"""Sign-in sessions: one row per refresh-token family, checked on every request.

Existing families get their row (revoked if any of their tokens was), so refresh tokens
issued before this migration keep working. Access tokens issued before it carry no session
id and are refused: their holders refresh or sign in again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 11:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"], unique=False)
    op.execute(
        "INSERT INTO auth_sessions (id, user_id, created_at, revoked_at)"
        " SELECT family_id, min(user_id), min(created_at),"
        " CASE WHEN bool_or(revoked_at IS NOT NULL) THEN max(revoked_at) END"
        " FROM refresh_tokens GROUP BY family_id"
    )
    op.create_foreign_key(
        op.f("fk_refresh_tokens_family_id_auth_sessions"),
        "refresh_tokens",
        "auth_sessions",
        ["family_id"],
        ["id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_refresh_tokens_family_id_auth_sessions"), "refresh_tokens", type_="foreignkey"
    )
    op.drop_index(op.f("ix_auth_sessions_user_id"), table_name="auth_sessions")
    op.drop_table("auth_sessions")

"""Idempotency keys for every POST: scoped by caller, anonymous callers included, sealed
answers, expiry.

``scope`` names the caller (``user:<id>``, or ``anon`` for a caller without a valid token:
sign-in and refresh), so ``user_id`` may be empty and the unique key is (scope, key).
``expires_at`` bounds how long a key is kept (existing rows: a day after they were made);
``sealed`` marks answers stored encrypted (existing rows were not).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "idempotency_keys",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    )
    op.add_column(
        "idempotency_keys",
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "idempotency_keys",
        sa.Column("sealed", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(
        "UPDATE idempotency_keys SET scope = 'user:' || user_id, "
        "expires_at = created_at + interval '1 day'"
    )
    op.alter_column("idempotency_keys", "scope", nullable=False)
    op.alter_column("idempotency_keys", "expires_at", nullable=False)
    op.alter_column("idempotency_keys", "sealed", server_default=None)
    op.alter_column("idempotency_keys", "user_id", nullable=True)
    op.drop_constraint("uq_idempotency_keys_user_id_key", "idempotency_keys", type_="unique")
    op.create_unique_constraint(
        op.f("uq_idempotency_keys_scope_key"), "idempotency_keys", ["scope", "key"]
    )
    op.create_index(
        op.f("ix_idempotency_keys_expires_at"), "idempotency_keys", ["expires_at"], unique=False
    )


def downgrade() -> None:
    # Keys of anonymous callers have no user under the old schema; sealed answers would be
    # replayed as ciphertext by the old code.
    op.execute("DELETE FROM idempotency_keys WHERE user_id IS NULL OR sealed")
    op.drop_index(op.f("ix_idempotency_keys_expires_at"), table_name="idempotency_keys")
    op.drop_constraint(op.f("uq_idempotency_keys_scope_key"), "idempotency_keys", type_="unique")
    op.create_unique_constraint(
        "uq_idempotency_keys_user_id_key", "idempotency_keys", ["user_id", "key"]
    )
    op.alter_column("idempotency_keys", "user_id", nullable=False)
    op.drop_column("idempotency_keys", "sealed")
    op.drop_column("idempotency_keys", "expires_at")
    op.drop_column("idempotency_keys", "scope")

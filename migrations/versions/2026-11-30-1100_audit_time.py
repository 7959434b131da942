"""Audit rows get their time from the database: a BEFORE INSERT trigger sets ``at := now()``.

Why. The runtime role may INSERT into ``audit_log`` and could so far choose ``at``: a
backdated or future time, or one the chain's message (version 1, years 1 to 9999 AD, see
``app.services.audit_chain``) cannot render: ``infinity`` (``to_char`` gives NULL, so two
different rows hash alike), year 10000 or a BC year (``0044`` for 44 BC as for AD 44).
Such a row poisoned or crashed ``dxplan audit verify``. Now every insert, by any role and
through any path (INSERT, COPY), stores the inserting transaction's time. Only an owner can
disable the trigger; ``verify`` reports a row whose time it cannot render as a broken link.

Why ``now()`` (the transaction's start), not ``clock_timestamp()``: it is what the column's
default always gave, so nothing written so far changes meaning; every row a request writes
gets the same instant as the ``created_at``/``updated_at`` defaults of the rows it
describes; and it is fixed for the transaction. Rows are chained in commit order, so ``at``
may decrease along the chain by the length of an overlapping transaction.

No code path writes its own ``at`` (``app.services.audit.record`` leaves it to the
database; the seed and the migrations write no audit rows), so nothing relies on the value
it asks for. A CHECK would add nothing against the runtime role (it can neither UPDATE the
trail nor disable a trigger) and the owner could drop it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 11:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    # search_path pinned like the chain's functions: pg_catalog.now() whoever inserts.
    op.execute(
        f"""
        CREATE FUNCTION audit_log_stamp() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, "{schema}", pg_temp AS $$
        BEGIN
            NEW.at := pg_catalog.now();
            RETURN NEW;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_stamp BEFORE INSERT ON audit_log"
        " FOR EACH ROW EXECUTE FUNCTION audit_log_stamp()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_stamp ON audit_log")
    op.execute("DROP FUNCTION audit_log_stamp()")

"""Change log for the sync feed, written by triggers on every synced table.

Each change records its transaction id; the feed serves only changes of transactions older
than every running one, so a late commit can never fall behind a cursor already served.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 08:14:11.786814+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


LOG_CHANGE = """
CREATE FUNCTION log_change() RETURNS trigger AS $$
DECLARE
    r record;
    tx bigint := pg_current_xact_id()::text::bigint;
    op text := CASE WHEN TG_OP = 'DELETE' THEN 'delete' ELSE 'upsert' END;
    report_agency integer;
    report_state text;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'tasks' THEN
        INSERT INTO changes (txid, entity, key, op) VALUES (tx, 'task', r.code, op);
    ELSIF TG_TABLE_NAME = 'indicators' THEN
        INSERT INTO changes (txid, entity, key, op) VALUES (tx, 'indicator', r.code, op);
    ELSIF TG_TABLE_NAME = 'documents' THEN
        INSERT INTO changes (txid, entity, key, op) VALUES (tx, 'document', r.number::text, op);
    ELSIF TG_TABLE_NAME = 'plan_sections' THEN
        INSERT INTO changes (txid, entity, key, op) VALUES (tx, 'section', r.code, op);
    ELSIF TG_TABLE_NAME = 'agencies' THEN
        INSERT INTO changes (txid, entity, key, op) VALUES (tx, 'agency', r.code, op);
    ELSIF TG_TABLE_NAME = 'reporting_periods' THEN
        IF r.kind = 'annual' THEN
            INSERT INTO changes (txid, entity, key, op) VALUES (tx, 'period', r.id::text, op);
        END IF;
    ELSIF TG_TABLE_NAME = 'reports' THEN
        INSERT INTO changes (txid, entity, key, op, agency_id)
        VALUES (tx, 'report', r.id::text, op, r.agency_id);
        -- Approval (or its undoing) changes what the public sees of the report's subjects.
        IF TG_OP = 'UPDATE' AND OLD.state IS DISTINCT FROM NEW.state
           AND 'approved' IN (OLD.state, NEW.state) THEN
            INSERT INTO changes (txid, entity, key, op)
            SELECT tx, 'task', t.code, 'upsert' FROM task_updates u
            JOIN tasks t ON t.id = u.task_id WHERE u.report_id = r.id
            UNION ALL
            SELECT tx, 'indicator', i.code, 'upsert' FROM indicator_values v
            JOIN indicator_targets g ON g.id = v.target_id
            JOIN indicators i ON i.id = g.indicator_id WHERE v.report_id = r.id
            UNION ALL
            SELECT tx, 'document', d.number::text, 'upsert' FROM document_updates u
            JOIN documents d ON d.id = u.document_id WHERE u.report_id = r.id;
        END IF;
    ELSE
        -- Report items: private to the report's agency.
        SELECT agency_id, state INTO report_agency, report_state
        FROM reports WHERE id = r.report_id;
        INSERT INTO changes (txid, entity, key, op, agency_id) VALUES (
            tx, regexp_replace(TG_TABLE_NAME, 's$', ''), r.report_id || '/' || r.id, op,
            coalesce(report_agency, -1));
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

SYNCED = [
    "tasks",
    "indicators",
    "documents",
    "plan_sections",
    "agencies",
    "reporting_periods",
    "reports",
    "task_updates",
    "indicator_values",
    "document_updates",
]


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("op", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changes")),
    )
    op.create_index("ix_changes_txid_id", "changes", ["txid", "id"], unique=False)

    op.execute(LOG_CHANGE)
    for table in SYNCED:
        op.execute(
            f"CREATE TRIGGER {table}_log_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION log_change()"
        )


def downgrade() -> None:
    for table in SYNCED:
        op.execute(f"DROP TRIGGER {table}_log_change ON {table}")
    op.execute("DROP FUNCTION log_change()")
    op.drop_index("ix_changes_txid_id", table_name="changes")
    op.drop_table("changes")

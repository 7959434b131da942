"""Change log: an object is logged again when something it shows changes elsewhere.

The sync feed can carry each changed object's body (``include=body``), which must stay what
the object's own route answers. Three things change an object's answer without touching its
row, so each now logs the objects it changes, in the same transaction:

- a report's state: what may be done with each of its items (``allowed_actions``);
- a period's state, due date, code or title: its reports (``period``, ``late``,
  ``allowed_actions``) and, for the state, their items;
- an item's review state on an approved report (sent back alone, approved again): its
  subject's public progress (the task, the indicator, the document).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 13:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Items of the reports in `picked` (a query of report ids and agency ids), private to
# the report's agency like their own changes.
ITEMS_OF = """
    INSERT INTO changes (txid, entity, key, op, agency_id)
    SELECT tx, 'task_update', u.report_id || '/' || u.id, 'upsert', p.agency_id
    FROM task_updates u JOIN ({picked}) p ON p.id = u.report_id
    UNION ALL
    SELECT tx, 'indicator_value', v.report_id || '/' || v.id, 'upsert', p.agency_id
    FROM indicator_values v JOIN ({picked}) p ON p.id = v.report_id
    UNION ALL
    SELECT tx, 'document_update', d.report_id || '/' || d.id, 'upsert', p.agency_id
    FROM document_updates d JOIN ({picked}) p ON p.id = d.report_id
    ORDER BY 2, 3;
"""

LOG_DEPENDENTS = f"""
CREATE FUNCTION log_dependents() RETURNS trigger AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
    subject_state text;
BEGIN
    IF TG_TABLE_NAME = 'reports' THEN
        IF OLD.state IS DISTINCT FROM NEW.state THEN
            {ITEMS_OF.format(picked="SELECT NEW.id AS id, NEW.agency_id AS agency_id")}
        END IF;
    ELSIF TG_TABLE_NAME = 'reporting_periods' THEN
        IF (OLD.status, OLD.due_date, OLD.code, OLD.title)
           IS DISTINCT FROM (NEW.status, NEW.due_date, NEW.code, NEW.title) THEN
            INSERT INTO changes (txid, entity, key, op, agency_id)
            SELECT tx, 'report', r.id::text, 'upsert', r.agency_id
            FROM reports r WHERE r.period_id = NEW.id ORDER BY r.id;
            IF OLD.status IS DISTINCT FROM NEW.status THEN
                {ITEMS_OF.format(picked="SELECT id, agency_id FROM reports WHERE period_id = NEW.id")}
            END IF;
        END IF;
    ELSIF OLD.review_state IS DISTINCT FROM NEW.review_state THEN
        SELECT state INTO subject_state FROM reports WHERE id = NEW.report_id;
        IF subject_state = 'approved' THEN
            IF TG_TABLE_NAME = 'task_updates' THEN
                INSERT INTO changes (txid, entity, key, op)
                SELECT tx, 'task', code, 'upsert' FROM tasks WHERE id = NEW.task_id;
            ELSIF TG_TABLE_NAME = 'indicator_values' THEN
                INSERT INTO changes (txid, entity, key, op)
                SELECT tx, 'indicator', i.code, 'upsert' FROM indicator_targets g
                JOIN indicators i ON i.id = g.indicator_id WHERE g.id = NEW.target_id;
            ELSE
                INSERT INTO changes (txid, entity, key, op)
                SELECT tx, 'document', number::text, 'upsert' FROM documents
                WHERE id = NEW.document_id;
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

# Named after each table's log_change trigger, so they fire after it (by name): an object's
# own change comes before the changes it causes.
WATCHED = ["reports", "reporting_periods", "task_updates", "indicator_values", "document_updates"]


def upgrade() -> None:
    op.execute(LOG_DEPENDENTS)
    for table in WATCHED:
        op.execute(
            f"CREATE TRIGGER {table}_log_dependents AFTER UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION log_dependents()"
        )


def downgrade() -> None:
    for table in WATCHED:
        op.execute(f"DROP TRIGGER {table}_log_dependents ON {table}")
    op.execute("DROP FUNCTION log_dependents()")

"""Change log: each change of a plan-scoped object names its plan (issue 11, item 6).

Two plans may both have a task "A.I.1"; the sync feed of one plan must not serve the other's.
Changes of tasks, indicators, documents, sections and periods carry their own row's plan;
reports and report items the plan of their period. Agencies are shared by every plan: their
changes carry no plan and reach every plan's feed. Rows logged before this revision belong
to the only plan there was (left without a plan if there were several).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 15:00:00+00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOG_CHANGE = """
CREATE OR REPLACE FUNCTION log_change() RETURNS trigger AS $$
DECLARE
    r record;
    tx bigint := pg_current_xact_id()::text::bigint;
    op text := CASE WHEN TG_OP = 'DELETE' THEN 'delete' ELSE 'upsert' END;
    report_agency integer;
    report_state text;
    report_plan integer;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'tasks' THEN
        INSERT INTO changes (txid, entity, key, op, plan_id)
        VALUES (tx, 'task', r.code, op, r.plan_id);
    ELSIF TG_TABLE_NAME = 'indicators' THEN
        INSERT INTO changes (txid, entity, key, op, plan_id)
        VALUES (tx, 'indicator', r.code, op, r.plan_id);
    ELSIF TG_TABLE_NAME = 'documents' THEN
        INSERT INTO changes (txid, entity, key, op, plan_id)
        VALUES (tx, 'document', r.number::text, op, r.plan_id);
    ELSIF TG_TABLE_NAME = 'plan_sections' THEN
        INSERT INTO changes (txid, entity, key, op, plan_id)
        VALUES (tx, 'section', r.code, op, r.plan_id);
    ELSIF TG_TABLE_NAME = 'agencies' THEN
        INSERT INTO changes (txid, entity, key, op) VALUES (tx, 'agency', r.code, op);
    ELSIF TG_TABLE_NAME = 'reporting_periods' THEN
        IF r.kind = 'annual' THEN
            INSERT INTO changes (txid, entity, key, op, plan_id)
            VALUES (tx, 'period', r.id::text, op, r.plan_id);
        END IF;
    ELSIF TG_TABLE_NAME = 'reports' THEN
        SELECT plan_id INTO report_plan FROM reporting_periods WHERE id = r.period_id;
        INSERT INTO changes (txid, entity, key, op, agency_id, plan_id)
        VALUES (tx, 'report', r.id::text, op, r.agency_id, report_plan);
        -- Approval (or its undoing) changes what the public sees of the report's subjects.
        IF TG_OP = 'UPDATE' AND OLD.state IS DISTINCT FROM NEW.state
           AND 'approved' IN (OLD.state, NEW.state) THEN
            INSERT INTO changes (txid, entity, key, op, plan_id)
            SELECT tx, 'task', t.code, 'upsert', t.plan_id FROM task_updates u
            JOIN tasks t ON t.id = u.task_id WHERE u.report_id = r.id
            UNION ALL
            SELECT tx, 'indicator', i.code, 'upsert', i.plan_id FROM indicator_values v
            JOIN indicator_targets g ON g.id = v.target_id
            JOIN indicators i ON i.id = g.indicator_id WHERE v.report_id = r.id
            UNION ALL
            SELECT tx, 'document', d.number::text, 'upsert', d.plan_id FROM document_updates u
            JOIN documents d ON d.id = u.document_id WHERE u.report_id = r.id;
        END IF;
    ELSE
        -- Report items: private to the report's agency.
        SELECT rp.agency_id, rp.state, p.plan_id INTO report_agency, report_state, report_plan
        FROM reports rp JOIN reporting_periods p ON p.id = rp.period_id
        WHERE rp.id = r.report_id;
        INSERT INTO changes (txid, entity, key, op, agency_id, plan_id) VALUES (
            tx, regexp_replace(TG_TABLE_NAME, 's$', ''), r.report_id || '/' || r.id, op,
            coalesce(report_agency, -1), report_plan);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

# Items of the reports in `picked` (a query of report ids, agency ids and plan ids), private
# to the report's agency like their own changes.
ITEMS_OF = """
    INSERT INTO changes (txid, entity, key, op, agency_id, plan_id)
    SELECT tx, 'task_update', u.report_id || '/' || u.id, 'upsert', p.agency_id, p.plan_id
    FROM task_updates u JOIN ({picked}) p ON p.id = u.report_id
    UNION ALL
    SELECT tx, 'indicator_value', v.report_id || '/' || v.id, 'upsert', p.agency_id, p.plan_id
    FROM indicator_values v JOIN ({picked}) p ON p.id = v.report_id
    UNION ALL
    SELECT tx, 'document_update', d.report_id || '/' || d.id, 'upsert', p.agency_id, p.plan_id
    FROM document_updates d JOIN ({picked}) p ON p.id = d.report_id
    ORDER BY 2, 3;
"""

_REPORT_ITEMS = ITEMS_OF.format(
    picked="SELECT NEW.id AS id, NEW.agency_id AS agency_id,"
    " (SELECT plan_id FROM reporting_periods WHERE id = NEW.period_id) AS plan_id"
)
_PERIOD_ITEMS = ITEMS_OF.format(
    picked="SELECT id, agency_id, NEW.plan_id AS plan_id FROM reports WHERE period_id = NEW.id"
)

LOG_DEPENDENTS = f"""
CREATE OR REPLACE FUNCTION log_dependents() RETURNS trigger AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
    subject_state text;
BEGIN
    IF TG_TABLE_NAME = 'reports' THEN
        IF OLD.state IS DISTINCT FROM NEW.state THEN
            {_REPORT_ITEMS}
        END IF;
    ELSIF TG_TABLE_NAME = 'reporting_periods' THEN
        IF (OLD.status, OLD.due_date, OLD.code, OLD.title)
           IS DISTINCT FROM (NEW.status, NEW.due_date, NEW.code, NEW.title) THEN
            INSERT INTO changes (txid, entity, key, op, agency_id, plan_id)
            SELECT tx, 'report', r.id::text, 'upsert', r.agency_id, NEW.plan_id
            FROM reports r WHERE r.period_id = NEW.id ORDER BY r.id;
            IF OLD.status IS DISTINCT FROM NEW.status THEN
                {_PERIOD_ITEMS}
            END IF;
        END IF;
    ELSIF OLD.review_state IS DISTINCT FROM NEW.review_state THEN
        SELECT state INTO subject_state FROM reports WHERE id = NEW.report_id;
        IF subject_state = 'approved' THEN
            IF TG_TABLE_NAME = 'task_updates' THEN
                INSERT INTO changes (txid, entity, key, op, plan_id)
                SELECT tx, 'task', code, 'upsert', plan_id FROM tasks WHERE id = NEW.task_id;
            ELSIF TG_TABLE_NAME = 'indicator_values' THEN
                INSERT INTO changes (txid, entity, key, op, plan_id)
                SELECT tx, 'indicator', i.code, 'upsert', i.plan_id FROM indicator_targets g
                JOIN indicators i ON i.id = g.indicator_id WHERE g.id = NEW.target_id;
            ELSE
                INSERT INTO changes (txid, entity, key, op, plan_id)
                SELECT tx, 'document', number::text, 'upsert', plan_id FROM documents
                WHERE id = NEW.document_id;
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

BACKFILL = """
UPDATE changes SET plan_id = (SELECT min(id) FROM plans)
WHERE entity <> 'agency' AND (SELECT count(*) FROM plans) = 1
"""


def _revision(filename: str) -> ModuleType:
    """An earlier revision's module, for the function bodies a downgrade restores."""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"_dxplan_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.add_column("changes", sa.Column("plan_id", sa.Integer(), nullable=True))
    op.execute(BACKFILL)
    op.execute(LOG_CHANGE)
    op.execute(LOG_DEPENDENTS)


def downgrade() -> None:
    log_change = _revision("2026-11-29-0814_change_log.py").LOG_CHANGE
    log_dependents = _revision("2026-11-30-1300_change_log_dependents.py").LOG_DEPENDENTS
    for body in (log_change, log_dependents):
        op.execute(body.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.drop_column("changes", "plan_id")

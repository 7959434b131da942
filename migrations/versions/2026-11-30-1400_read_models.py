"""Read models of public progress, maintained at commit by the writes that change it.

``task_progress_latest``: per task and per year of the reporting period, the approved
progress row that is the newest by the order of ``app.services.progress``
(``approved_task_progress``: cut-off date, then approval time, then id, all descending). The
newest of a task's rows is its latest progress; the row of one year is what an annual task
is judged on for that year.

``indicator_value_latest``: per indicator target and scope (level, district), the approved
value that is the newest by (as_of, id). The newest province-wide row gives the target's
attainment, the newest of all rows the open data's latest value.

Both hold public data only (items of approved reports not sent back). They are kept by
deferred constraint triggers on ``reports``, ``task_updates``, ``indicator_values`` and
``reporting_periods``: at commit, a change that can alter what is public recomputes the rows
of the tasks and targets it touches from the raw rows (``refresh_task_progress_latest``,
``refresh_indicator_value_latest``), under the audit chain lock that every committer of
public data takes first (migration 0011), so two approvals of the same task serialise and
the second reads what the first committed. No foreign keys: their key-share locks on tasks
taken under the chain lock could wait for a transaction holding a task row FOR UPDATE (the
webhooks' status watch) that waits for the chain lock itself; rows exist only for tasks and
targets with approved items, which cannot be deleted. The tables carry no data-version
trigger: they change only in transactions that change reports or items, which bump it
already.

Bulk loads with triggers off (bench/datagen.py) call ``rebuild_read_models()`` afterwards;
so does ``dxplan rebuild-read-models``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 14:00:00+00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAIN_LOCK = 7239641273184053620  # migration 0011

FUNCTIONS = [
    f"""
    CREATE FUNCTION refresh_task_progress_latest(ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
        DELETE FROM task_progress_latest WHERE task_id = ANY(ids);
        INSERT INTO task_progress_latest (task_id, year, task_update_id, status,
            percent_complete, public_summary, period_id, cutoff_date, approved_at)
        SELECT DISTINCT ON (u.task_id, p.year) u.task_id, p.year, u.id, u.status,
            u.percent_complete, u.public_summary, p.id, p.cutoff_date, r.approved_at
        FROM task_updates u
        JOIN reports r ON r.id = u.report_id
        JOIN reporting_periods p ON p.id = r.period_id
        WHERE u.task_id = ANY(ids) AND r.state = 'approved' AND u.review_state IS NULL
        ORDER BY u.task_id, p.year, p.cutoff_date DESC, r.approved_at DESC, u.id DESC;
    END;
    $$
    """,
    f"""
    CREATE FUNCTION refresh_indicator_value_latest(ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
        DELETE FROM indicator_value_latest WHERE target_id = ANY(ids);
        INSERT INTO indicator_value_latest (indicator_value_id, target_id, level,
            district_agency_id, value, achieved, as_of, provenance, source, period_id)
        SELECT DISTINCT ON (v.target_id, coalesce(v.level, ''),
                coalesce(v.district_agency_id, 0))
            v.id, v.target_id, v.level, v.district_agency_id, v.value, v.achieved, v.as_of,
            v.provenance, v.source, r.period_id
        FROM indicator_values v
        JOIN reports r ON r.id = v.report_id
        WHERE v.target_id = ANY(ids) AND r.state = 'approved' AND v.review_state IS NULL
        ORDER BY v.target_id, coalesce(v.level, ''), coalesce(v.district_agency_id, 0),
            v.as_of DESC, v.id DESC;
    END;
    $$
    """,
    """
    CREATE FUNCTION rebuild_read_models() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM refresh_task_progress_latest(ARRAY(SELECT id FROM tasks));
        PERFORM refresh_indicator_value_latest(ARRAY(SELECT id FROM indicator_targets));
    END;
    $$
    """,
    # An approval adds the report's items to what is public (none of them was): each becomes
    # the newest of its task and year, or of its target and scope, where it is newer than the
    # row there (the same orders as above). No recomputation of the tasks' whole history, so
    # the chain lock is held briefly however long the history.
    f"""
    CREATE FUNCTION read_models_add_report(report bigint) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
        INSERT INTO task_progress_latest AS t (task_id, year, task_update_id, status,
            percent_complete, public_summary, period_id, cutoff_date, approved_at)
        SELECT u.task_id, p.year, u.id, u.status, u.percent_complete, u.public_summary, p.id,
            p.cutoff_date, r.approved_at
        FROM task_updates u
        JOIN reports r ON r.id = u.report_id
        JOIN reporting_periods p ON p.id = r.period_id
        WHERE u.report_id = report AND r.state = 'approved' AND u.review_state IS NULL
        ON CONFLICT (task_id, year) DO UPDATE SET task_update_id = excluded.task_update_id,
            status = excluded.status, percent_complete = excluded.percent_complete,
            public_summary = excluded.public_summary, period_id = excluded.period_id,
            cutoff_date = excluded.cutoff_date, approved_at = excluded.approved_at
        WHERE excluded.cutoff_date > t.cutoff_date
            OR (excluded.cutoff_date = t.cutoff_date AND (
                (excluded.approved_at IS NULL AND t.approved_at IS NOT NULL)
                OR excluded.approved_at > t.approved_at
                OR (excluded.approved_at IS NOT DISTINCT FROM t.approved_at
                    AND excluded.task_update_id > t.task_update_id)));
        WITH c AS (
            SELECT DISTINCT ON (v.target_id, coalesce(v.level, ''),
                    coalesce(v.district_agency_id, 0))
                v.id, v.target_id, v.level, v.district_agency_id, v.value, v.achieved, v.as_of,
                v.provenance, v.source, r.period_id
            FROM indicator_values v
            JOIN reports r ON r.id = v.report_id
            WHERE v.report_id = report AND r.state = 'approved' AND v.review_state IS NULL
            ORDER BY v.target_id, coalesce(v.level, ''), coalesce(v.district_agency_id, 0),
                v.as_of DESC, v.id DESC
        ), older AS (
            DELETE FROM indicator_value_latest l USING c
            WHERE l.target_id = c.target_id AND l.level IS NOT DISTINCT FROM c.level
                AND l.district_agency_id IS NOT DISTINCT FROM c.district_agency_id
                AND (l.as_of, l.indicator_value_id) < (c.as_of, c.id)
        )
        INSERT INTO indicator_value_latest (indicator_value_id, target_id, level,
            district_agency_id, value, achieved, as_of, provenance, source, period_id)
        SELECT c.id, c.target_id, c.level, c.district_agency_id, c.value, c.achieved, c.as_of,
            c.provenance, c.source, c.period_id
        FROM c
        WHERE NOT EXISTS (
            SELECT 1 FROM indicator_value_latest l
            WHERE l.target_id = c.target_id AND l.level IS NOT DISTINCT FROM c.level
                AND l.district_agency_id IS NOT DISTINCT FROM c.district_agency_id
                AND (l.as_of, l.indicator_value_id) >= (c.as_of, c.id));
    END;
    $$
    """,
    # A report's move into or out of "approved", or a new approval time or period: an
    # approval adds (above), anything else recomputes the report's tasks and targets.
    """
    CREATE FUNCTION read_models_report_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.state = 'approved' AND OLD.state <> 'approved'
                AND OLD.period_id = NEW.period_id THEN
            PERFORM read_models_add_report(NEW.id);
            RETURN NULL;
        END IF;
        PERFORM refresh_task_progress_latest(
            ARRAY(SELECT task_id FROM task_updates WHERE report_id = NEW.id));
        PERFORM refresh_indicator_value_latest(
            ARRAY(SELECT target_id FROM indicator_values WHERE report_id = NEW.id));
        RETURN NULL;
    END;
    $$
    """,
    # A period's year or cut-off date orders progress; only its approved reports matter.
    """
    CREATE FUNCTION read_models_period_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM refresh_task_progress_latest(ARRAY(
            SELECT u.task_id FROM task_updates u JOIN reports r ON r.id = u.report_id
            WHERE r.period_id = NEW.id AND r.state = 'approved'));
        PERFORM refresh_indicator_value_latest(ARRAY(
            SELECT v.target_id FROM indicator_values v JOIN reports r ON r.id = v.report_id
            WHERE r.period_id = NEW.id AND r.state = 'approved'));
        RETURN NULL;
    END;
    $$
    """,
    # An item written, returned, approved again or deleted. Items of a report that is not
    # approved at commit are not public, and were not at the transaction's start either
    # unless the report left "approved" in it, which the report's trigger covers: skipped
    # (drafts are written all the time).
    """
    CREATE FUNCTION read_models_item_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        row_report bigint;
        ids bigint[];
    BEGIN
        IF TG_OP = 'DELETE' THEN
            row_report := OLD.report_id;
        ELSE
            row_report := NEW.report_id;
        END IF;
        IF TG_OP <> 'UPDATE' OR OLD.report_id = NEW.report_id THEN
            IF EXISTS (SELECT 1 FROM reports WHERE id = row_report AND state <> 'approved') THEN
                RETURN NULL;
            END IF;
        END IF;
        IF TG_TABLE_NAME = 'task_updates' THEN
            IF TG_OP = 'INSERT' THEN
                ids := ARRAY[NEW.task_id];
            ELSIF TG_OP = 'DELETE' THEN
                ids := ARRAY[OLD.task_id];
            ELSE
                ids := ARRAY[OLD.task_id, NEW.task_id];
            END IF;
            PERFORM refresh_task_progress_latest(ids);
        ELSE
            IF TG_OP = 'INSERT' THEN
                ids := ARRAY[NEW.target_id];
            ELSIF TG_OP = 'DELETE' THEN
                ids := ARRAY[OLD.target_id];
            ELSE
                ids := ARRAY[OLD.target_id, NEW.target_id];
            END IF;
            PERFORM refresh_indicator_value_latest(ids);
        END IF;
        RETURN NULL;
    END;
    $$
    """,
]

TASK_COLUMNS = "task_id, report_id, status, percent_complete, public_summary, review_state"
VALUE_COLUMNS = (
    "target_id, report_id, value, achieved, as_of, level, district_agency_id, provenance,"
    " source, review_state"
)


def _deferred(name: str, events: str, table: str, function: str, when: str = "") -> str:
    return (
        f"CREATE CONSTRAINT TRIGGER {name} AFTER {events} ON {table}"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
        f"{f' WHEN ({when})' if when else ''} EXECUTE FUNCTION {function}()"
    )


def _changed(columns: str) -> str:
    old = ", ".join(f"OLD.{c.strip()}" for c in columns.split(","))
    new = ", ".join(f"NEW.{c.strip()}" for c in columns.split(","))
    return f"({old}) IS DISTINCT FROM ({new})"


TRIGGERS = [
    (
        "reports_read_models",
        "reports",
        _deferred(
            "reports_read_models",
            "UPDATE",
            "reports",
            "read_models_report_changed",
            "(OLD.state = 'approved' OR NEW.state = 'approved') AND "
            + _changed("state, approved_at, period_id"),
        ),
    ),
    (
        "reporting_periods_read_models",
        "reporting_periods",
        _deferred(
            "reporting_periods_read_models",
            "UPDATE",
            "reporting_periods",
            "read_models_period_changed",
            _changed("year, cutoff_date"),
        ),
    ),
    (
        "task_updates_read_models",
        "task_updates",
        _deferred(
            "task_updates_read_models",
            "INSERT OR DELETE",
            "task_updates",
            "read_models_item_changed",
        ),
    ),
    (
        "task_updates_read_models_update",
        "task_updates",
        _deferred(
            "task_updates_read_models_update",
            "UPDATE",
            "task_updates",
            "read_models_item_changed",
            _changed(TASK_COLUMNS),
        ),
    ),
    (
        "indicator_values_read_models",
        "indicator_values",
        _deferred(
            "indicator_values_read_models",
            "INSERT OR DELETE",
            "indicator_values",
            "read_models_item_changed",
        ),
    ),
    (
        "indicator_values_read_models_update",
        "indicator_values",
        _deferred(
            "indicator_values_read_models_update",
            "UPDATE",
            "indicator_values",
            "read_models_item_changed",
            _changed(VALUE_COLUMNS),
        ),
    ),
]


def _runtime_role() -> str:
    """As in migration 0011: the Alembic config's ``runtime_role``, else the settings'."""
    role = context.config.attributes.get("runtime_role")
    if not role:
        from app.core.config import get_settings

        role = get_settings().db_runtime_role
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise RuntimeError(f"invalid runtime role name {role!r}")
    return str(role)


def upgrade() -> None:
    op.create_table(
        "task_progress_latest",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("task_update_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("percent_complete", sa.Integer(), nullable=False),
        sa.Column("public_summary", sa.String(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("cutoff_date", sa.Date(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("task_id", "year", name=op.f("pk_task_progress_latest")),
    )
    op.create_table(
        "indicator_value_latest",
        sa.Column("indicator_value_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=True),
        sa.Column("district_agency_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.Numeric(16, 4), nullable=True),
        sa.Column("achieved", sa.Boolean(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("provenance", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("indicator_value_id", name=op.f("pk_indicator_value_latest")),
    )
    op.create_index(
        op.f("ix_indicator_value_latest_target_id"), "indicator_value_latest", ["target_id"]
    )
    # The recomputation reads one task's or target's items.
    op.create_index(op.f("ix_task_updates_task_id"), "task_updates", ["task_id"])
    op.create_index(op.f("ix_indicator_values_target_id"), "indicator_values", ["target_id"])
    for sql in FUNCTIONS:
        op.execute(sql)
    for _, _, sql in TRIGGERS:
        op.execute(sql)
    role = _runtime_role()
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON task_progress_latest, indicator_value_latest"
        f" TO {role}"
    )
    op.execute("SELECT rebuild_read_models()")


def downgrade() -> None:
    for name, table, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for function in (
        "read_models_item_changed()",
        "read_models_period_changed()",
        "read_models_report_changed()",
        "read_models_add_report(bigint)",
        "rebuild_read_models()",
        "refresh_indicator_value_latest(bigint[])",
        "refresh_task_progress_latest(bigint[])",
    ):
        op.execute(f"DROP FUNCTION {function}")
    op.drop_index(op.f("ix_indicator_values_target_id"), table_name="indicator_values")
    op.drop_index(op.f("ix_task_updates_task_id"), table_name="task_updates")
    op.drop_index(op.f("ix_indicator_value_latest_target_id"), table_name="indicator_value_latest")
    op.drop_table("indicator_value_latest")
    op.drop_table("task_progress_latest")

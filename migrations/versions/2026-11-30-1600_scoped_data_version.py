"""Data version: bumped only by what a public answer shows, and announced with NOTIFY.

Public answers (plan data, lists, details, dashboard, scorecards, compliance, search, open
data) read a report only through:
- its existence (the reports asked of an annual period, through the lineage), agency and
  period;
- whether it is approved, and its approval time (progress, values, document status, the
  dashboard's last approval);
- its first `submitted` event (compliance on time, late or missing);
- the items of approved reports (not those sent back alone after approval).
So a comment, an edit of a draft or returned report's items, and the version and update
time a report gets with every such change touch no public answer, and bump nothing now:
- reports: every insert and delete; an update only when its approval (approved or not),
  approval time, submission time, agency or period changes (submit, withdraw and return of
  an unapproved report are judged by their events below);
- report_events: every event but those that accompany no public change (comments; the
  withdrawal and return of a report that is not approved; an item's review moves, which
  only concern items of approved reports, bumped by the items themselves);
- items (task updates, indicator values, document updates): when, at commit, the report of
  the old or the new row is approved (an approval, return or reopen in the same transaction
  bumps through the report itself).
Every other table behind a public answer still bumps on every change.

A bump now also sends `NOTIFY dxplan_data_version, '<new version>'`: delivered to every
listening process when (and only if) the transaction commits, in commit order. Each process
of the service listens and so answers cache hits without reading the version
(app.core.data_version).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 16:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAIN_LOCK = 7239641273184053620
CHANNEL = "dxplan_data_version"
ITEMS = ("task_updates", "indicator_values", "document_updates")

# Item triggers check the report at commit (a WHEN clause cannot read another table). The
# chain lock comes first, as in 0011: the bump and the audit chain both serialize committers.
SCOPED_BUMP = f"""
CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger AS $$
DECLARE
    bumped bigint;
BEGIN
    IF TG_TABLE_NAME IN {ITEMS!r} THEN
        IF NOT EXISTS (
            SELECT 1 FROM reports
            WHERE state = 'approved'
              AND id IN (
                  CASE WHEN TG_OP <> 'INSERT' THEN OLD.report_id END,
                  CASE WHEN TG_OP <> 'DELETE' THEN NEW.report_id END
              )
        ) THEN
            RETURN NULL;
        END IF;
    END IF;
    PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
    UPDATE data_version SET version = version + 1, txid = pg_current_xact_id()::text::bigint
    WHERE txid IS DISTINCT FROM pg_current_xact_id()::text::bigint
    RETURNING version INTO bumped;
    IF bumped IS NOT NULL THEN
        PERFORM pg_notify('{CHANNEL}', bumped::text);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

LOCKED_BUMP = f"""
CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
    UPDATE data_version SET version = version + 1, txid = pg_current_xact_id()::text::bigint
    WHERE txid IS DISTINCT FROM pg_current_xact_id()::text::bigint;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

# What a report update changes that a public answer shows.
REPORT_SHOWN = (
    "(OLD.state = 'approved') IS DISTINCT FROM (NEW.state = 'approved')"
    " OR OLD.approved_at IS DISTINCT FROM NEW.approved_at"
    " OR OLD.submitted_at IS DISTINCT FROM NEW.submitted_at"
    " OR OLD.agency_id IS DISTINCT FROM NEW.agency_id"
    " OR OLD.period_id IS DISTINCT FROM NEW.period_id"
    " OR OLD.id IS DISTINCT FROM NEW.id"
)
# Events that accompany no public change (see the module).
QUIET_EVENTS = (
    "('comment', 'withdrawn', 'returned', 'item_reopened', 'item_resubmitted', 'item_approved')"
)


def _trigger(name: str, table: str, events: str, when: str | None = None) -> str:
    condition = f" WHEN ({when})" if when else ""
    return (
        f"CREATE CONSTRAINT TRIGGER {name} AFTER {events} ON {table}"
        f" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW{condition}"
        " EXECUTE FUNCTION bump_data_version()"
    )


def _every_change(table: str) -> str:
    return _trigger(f"{table}_bump_data_version", table, "INSERT OR UPDATE OR DELETE")


def upgrade() -> None:
    op.execute(SCOPED_BUMP)
    op.execute("DROP TRIGGER reports_bump_data_version ON reports")
    op.execute(_trigger("reports_bump_data_version", "reports", "INSERT OR DELETE"))
    op.execute(_trigger("reports_bump_data_version_update", "reports", "UPDATE", REPORT_SHOWN))
    op.execute("DROP TRIGGER report_events_bump_data_version ON report_events")
    for event, row in (("INSERT", "NEW"), ("DELETE", "OLD")):
        op.execute(
            _trigger(
                f"report_events_bump_data_version_{event.lower()}",
                "report_events",
                event,
                f"{row}.action NOT IN {QUIET_EVENTS}",
            )
        )
    op.execute(
        _trigger(
            "report_events_bump_data_version_update",
            "report_events",
            "UPDATE",
            f"OLD.action NOT IN {QUIET_EVENTS} OR NEW.action NOT IN {QUIET_EVENTS}",
        )
    )


def downgrade() -> None:
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER report_events_bump_data_version_{name} ON report_events")
    op.execute(_every_change("report_events"))
    op.execute("DROP TRIGGER reports_bump_data_version_update ON reports")
    op.execute("DROP TRIGGER reports_bump_data_version ON reports")
    op.execute(_every_change("reports"))
    op.execute(LOCKED_BUMP)

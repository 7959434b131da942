"""Who may see a report: one rule for the report's own routes and for every other door.

`GET /reports/{id}` answers 404 to a caller for whom `visible` is false, and every other
place that shows something about a report (the audit trail, webhook deliveries,
notifications, exports) filters its rows with the same predicate, through
`report_visible`, inside its SQL query. An entry about a report the caller may not see
now is left out, never redacted: its existence is not shown either. Reviewers and
observers therefore never see a draft through any door, and what a caller sees follows
the report's current state (a report withdrawn to draft disappears again from the doors
that showed it while it was submitted).
"""

from typing import Any

from sqlalchemy import ColumnElement, exists, false, or_
from sqlalchemy.orm import Mapped
from sqlmodel import col

from app.core.permissions import Permission, permissions_of
from app.models import Report, User


def visible(caller: User) -> ColumnElement[bool]:
    """Reports the caller may see: their agency's (drafts included) if they work on
    reports, and every agency's submitted ones if they read all. Anything else is 404."""
    perms = permissions_of(caller.role)
    clauses: list[ColumnElement[bool]] = []
    if Permission.reports_read_own in perms:
        clauses.append(col(Report.agency_id) == caller.agency_id)
    if Permission.reports_read_all in perms:
        clauses.append(col(Report.state) != "draft")
    return or_(*clauses) if clauses else false()


def report_visible(
    caller: User, report_id: ColumnElement[Any] | Mapped[Any]
) -> ColumnElement[bool]:
    """True when `report_id` (an expression of the outer query's row) names a report the
    caller may see; false for a NULL id or a report that does not exist. A correlated
    EXISTS on the primary key: a semi-join, or one index probe per row inside an OR, all
    within the one query (never a query per row). Long lists may join `Report` on the
    id and filter with `visible` instead (the audit trail does)."""
    return exists().where(col(Report.id) == report_id, visible(caller))

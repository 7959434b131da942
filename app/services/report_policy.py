"""Who may do what to a report or one of its items, and when: one table.

Each row says, for a (subject, action): the permission the role must hold, whether the
caller must belong to the report's agency, the states in which the action is open (the
report's state, the item's review state, whether the period must be open), and whether a
comment is required. The guards (`require`) and the `allowed_actions` every response lists
(`actions`) both read these rows and nothing else, so what the app is told and what the
server enforces cannot drift; tests/services/test_report_policy.py derives its cases from the rows.

Who may *see* a report is not here: that is app.services.visibility, applied by every
load (404 for a report the caller may not see). A reviewer never sees a draft, so
"comment on any agency's report" means "once submitted" for them.

Refusals, in order: 403 when the role lacks the permission or the row is own-agency and
the caller is of another agency; 409 when no state clause holds (`period_not_open` when
only the period's being closed stands in the way, `invalid_state` otherwise); 422
`comment_required` when the row needs a comment and none was given.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from app.core.errors import ConflictError, FieldValidationError, ForbiddenError
from app.core.permissions import Permission, permissions_of
from app.models import Report, ReportingPeriod, User

Subject = Literal["report", "item"]
EDITABLE = frozenset({"draft", "returned"})
ANY_STATE = frozenset({"draft", "submitted", "approved", "returned"})


class Scope(StrEnum):
    own = "own"  # only staff of the report's agency
    any = "any"  # anyone who can see the report (visibility decides)


@dataclass(frozen=True)
class When:
    """One state clause: the report in one of `report`, the item (for item rows) in one of
    `item` (None: follows the report), and the period open when `period_open`."""

    report: frozenset[str]
    item: frozenset[str | None] | None = None
    period_open: bool = False


@dataclass(frozen=True)
class Rule:
    subject: Subject
    action: str
    permission: Permission
    scope: Scope
    when: tuple[When, ...]
    needs_comment: bool = False


R = Permission
_OPEN_EDIT = When(EDITABLE, period_open=True)
_FOLLOWS = frozenset({None})

# The order of rows is the order of `allowed_actions`.
RULES: tuple[Rule, ...] = (
    Rule("report", "edit", R.reports_edit, Scope.own, (_OPEN_EDIT,)),
    Rule("report", "submit", R.reports_submit, Scope.own, (_OPEN_EDIT,)),
    Rule("report", "withdraw", R.reports_submit, Scope.own, (When(frozenset({"submitted"})),)),
    Rule("report", "approve", R.reports_review, Scope.any, (When(frozenset({"submitted"})),)),
    Rule(
        "report",
        "return",
        R.reports_review,
        Scope.any,
        (When(frozenset({"submitted"})),),
        needs_comment=True,
    ),
    Rule("report", "comment", R.reports_comment, Scope.any, (When(ANY_STATE),)),
    Rule(
        "item",
        "update",
        R.reports_edit,
        Scope.own,
        (
            When(EDITABLE, _FOLLOWS, period_open=True),
            When(ANY_STATE, frozenset({"returned"})),  # sent back alone, after approval
        ),
    ),
    Rule("item", "delete", R.reports_edit, Scope.own, (When(EDITABLE, _FOLLOWS, True),)),
    Rule(
        "item", "resubmit", R.reports_submit, Scope.own, (When(ANY_STATE, frozenset({"returned"})),)
    ),
    Rule(
        "item",
        "return",
        R.reports_review,
        Scope.any,
        (When(frozenset({"approved"}), _FOLLOWS),),
        needs_comment=True,
    ),
    Rule(
        "item",
        "approve",
        R.reports_review,
        Scope.any,
        (When(ANY_STATE, frozenset({"resubmitted"})),),
    ),
)

TABLE: dict[tuple[Subject, str], Rule] = {(r.subject, r.action): r for r in RULES}


@dataclass(frozen=True)
class Actor:
    """The caller with their permissions, computed once per request."""

    user: User
    permissions: frozenset[Permission]

    @classmethod
    def of(cls, user: User) -> "Actor":
        return cls(user, permissions_of(user.role))


def actor_of(caller: User | Actor) -> Actor:
    return caller if isinstance(caller, Actor) else Actor.of(caller)


def _holds(clause: When, report: Report, period: ReportingPeriod, item_state: str | None) -> bool:
    return (
        report.state in clause.report
        and (clause.item is None or item_state in clause.item)
        and (not clause.period_open or period.status == "open")
    )


def _may_ever(rule: Rule, actor: Actor, report: Report) -> bool:
    """The role and agency part of a row: what a state change can never grant."""
    if rule.permission not in actor.permissions:
        return False
    return rule.scope is Scope.any or report.agency_id == actor.user.agency_id


def actions(
    subject: Subject,
    actor: Actor,
    report: Report,
    period: ReportingPeriod,
    item_state: str | None = None,
) -> list[str]:
    """What the caller may do now: the rows of `subject` that `require` would let pass."""
    return [
        rule.action
        for rule in RULES
        if rule.subject == subject
        and _may_ever(rule, actor, report)
        and any(_holds(c, report, period, item_state) for c in rule.when)
    ]


def situation(
    actor: Actor, report: Report, period: ReportingPeriod, item_state: str | None = None
) -> tuple[str, bool, str, str | None]:
    """All that `actions` reads besides the subject: equal situations, equal actions (for
    computing them once per page rather than once per row)."""
    return report.state, report.agency_id == actor.user.agency_id, period.status, item_state


def require(
    subject: Subject,
    action: str,
    actor: Actor,
    report: Report,
    period: ReportingPeriod,
    item_state: str | None = None,
    *,
    comment: str | None = None,
) -> None:
    """Raise the refusal the table gives for this caller, report and item now."""
    rule = TABLE[(subject, action)]
    if not _may_ever(rule, actor, report):
        raise ForbiddenError()
    if not any(_holds(c, report, period, item_state) for c in rule.when):
        if period.status != "open" and any(
            _holds(When(c.report, c.item), report, period, item_state) for c in rule.when
        ):
            raise ConflictError("conflict.period_not_open")
        state = item_state if subject == "item" and item_state else report.state
        raise ConflictError("conflict.invalid_state", state=state, action=action)
    if rule.needs_comment and not (comment and comment.strip()):
        raise FieldValidationError([("comment", "comment_required")])

"""Successors carry their predecessors' plan items: assignments and the right to report.

The plan names its agencies as they stood in 2021; the reorganisations graph
(app.services.lineage) says who carries each item's part on a date. An agency inherits an item
when the agency (or group) the plan names for it resolves, on that date and for that item (so
verified transfers of single items count), to a set that includes it while the plan does not
name it directly (nor through a group it belongs to). The predecessor it inherits through is
the plan-named agency (a member, for a group) whose chain leads to it.

Reports filed before a reorganisation stay attached to the agency that filed them: nothing here
moves a report; only new items are admitted on the successor's report.
"""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import FieldValidationError
from app.models import (
    Agency,
    Document,
    DocumentAgency,
    Indicator,
    IndicatorAgency,
    Plan,
    Task,
    TaskAgency,
    User,
)
from app.schemas.dashboard import AssignmentItem, Assignments
from app.schemas.reorganisations import ResolvedAgency
from app.services import dashboard
from app.services.common import linked_to_agency
from app.services.lineage import Lineage, load_lineage


def _through(resolved: ResolvedAgency, code: str) -> str | None:
    """The plan-named agency (depth first through groups) whose responsibility passed to
    ``code``; None when ``code`` carries it only as itself."""
    if resolved.members is None:
        named = resolved.agency.code
        if named != code and any(a.code == code for a in resolved.responsible):
            return named
        return None
    for member in resolved.members:
        found = _through(member, code)
        if found is not None:
            return found
    return None


def inherited_from(
    lineage: Lineage, code: str, named: str, item: str | None, on: date
) -> str | None:
    """The predecessor through which ``code`` carries the part of plan agency ``named`` on
    item ``item`` on ``on``, or None."""
    if named not in lineage.agencies or code not in lineage.agencies:
        return None
    return _through(lineage.resolve(named, on, item), code)


def receives(lineage: Lineage, code: str, on: date) -> bool:
    """Whether some event up to ``on`` passes anything to ``code`` (it is an event's
    successor or a transfer's receiver). Without one, no chain leads to ``code``: it
    inherits nothing (inherited_from is None for every agency the plan names)."""
    return any(
        event.date <= on
        and (code in event.successors or any(t.to == code for t in event.transfers))
        for event in lineage.events
    )


_KINDS: tuple[tuple[Any, Any, str, Any, Any, str], ...] = (
    (Task, TaskAgency, "task_id", Task.code, Task.title, "tasks"),
    (Indicator, IndicatorAgency, "indicator_id", Indicator.code, Indicator.text, "indicators"),
    (Document, DocumentAgency, "document_id", Document.code, Document.title, "documents"),
)


async def assignments(session: AsyncSession, plan: Plan, user: User, on: date) -> Assignments:
    """What the user's agency is assigned as the plan names it, then (marked with
    ``via_predecessor``) everything its predecessors lead or coordinate on ``on``."""
    answer = await dashboard.assignments(session, plan, user)
    lineage = await load_lineage(session)
    code = answer.agency.code
    if not receives(lineage, code, on):  # no predecessor: nothing to inherit, no query
        return answer
    for item, link, owner, key, title, attribute in _KINDS:
        listed: list[AssignmentItem] = getattr(answer, attribute)
        seen = {(a.code, a.role) for a in listed}
        rows = await session.execute(
            select(key, title, col(link.role), col(Agency.code), col(Agency.kind))
            .join(link, getattr(link, owner) == item.id)
            .join(Agency, col(Agency.id) == col(link.agency_id))
            .where(item.plan_id == plan.id, col(link.role).in_(("lead", "coordinating")))
            .order_by(item.sort_order, col(link.role), col(link.agency_id))
        )
        for item_code, item_title, role, named, _kind in rows:
            if (str(item_code), role) in seen:
                continue
            source = inherited_from(lineage, code, named, str(item_code), on)
            if source is None:
                continue
            seen.add((str(item_code), role))
            listed.append(
                AssignmentItem(
                    code=str(item_code),
                    title=item_title,
                    role=role,
                    via=named if named != source else None,
                    via_predecessor=source,
                )
            )
    return answer


async def require_assigned(
    session: AsyncSession,
    link: Any,
    owner: str,
    item_id: int,
    item_code: str,
    agency_id: int,
    on: date,
    field: str,
) -> None:
    """The agency leads or coordinates the item: as the plan names it (directly or through a
    group it belongs to), or as the successor of an agency the plan names, on ``on`` (the
    cut-off date of the report's period); 422 ``not_assigned`` otherwise."""
    direct = linked_to_agency(link, owner, item_id, agency_id)
    if (await session.execute(select(direct))).scalar():
        return
    lineage = await load_lineage(session)
    code = (
        await session.execute(select(col(Agency.code)).where(col(Agency.id) == agency_id))
    ).scalar()
    named = await session.execute(
        select(col(Agency.code))
        .join(link, col(link.agency_id) == col(Agency.id))
        .where(getattr(link, owner) == item_id, col(link.role).in_(("lead", "coordinating")))
    )
    if code is not None and any(
        inherited_from(lineage, code, n, item_code, on) is not None for (n,) in named
    ):
        return
    raise FieldValidationError([(field, "not_assigned")])

"""Items of a report: task progress, indicator values, document status.

The three kinds share one life cycle, written once here: created and edited while the
report is editable (or while the item alone is returned), sent back alone by a reviewer
after approval, resubmitted by the agency lead, approved again. An item may only concern
a task, indicator or document that the agency leads or coordinates (directly or through a
group it belongs to).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import ConflictError, FieldValidationError, ForbiddenError, NotFoundError
from app.core.http import check_if_match, etag
from app.core.permissions import Permission, permissions_of
from app.models import (
    Agency,
    Document,
    DocumentAgency,
    DocumentUpdate,
    Indicator,
    IndicatorAgency,
    IndicatorTarget,
    IndicatorValue,
    Plan,
    Report,
    ReportingPeriod,
    Task,
    TaskAgency,
    TaskUpdate,
    User,
)
from app.models.reports import ItemBase
from app.schemas.common import ItemRef
from app.schemas.reports import DocumentUpdateRead, IndicatorValueRead, TaskUpdateRead
from app.services import audit, webhooks
from app.services.common import linked_to_agency
from app.services.notifications import notify_agency
from app.services.reports import EDITABLE, _event, load_report


@dataclass(frozen=True)
class Kind:
    path: str  # URL segment, also the item_kind in history
    model: type[ItemBase]
    entity: str


TASK = Kind("task-updates", TaskUpdate, "task_update")
INDICATOR = Kind("indicator-values", IndicatorValue, "indicator_value")
DOCUMENT = Kind("document-updates", DocumentUpdate, "document_update")
KINDS = {k.path: k for k in (TASK, INDICATOR, DOCUMENT)}


def item_etag(kind: Kind, item: ItemBase) -> str:
    return etag(kind.entity, item.id or 0, item.version)


def item_actions(
    item: ItemBase, report: Report, period: ReportingPeriod, caller: User
) -> list[str]:
    perms = permissions_of(caller.role)
    own = report.agency_id == caller.agency_id
    actions = []
    report_editable = report.state in EDITABLE and period.status == "open"
    if own and Permission.reports_edit in perms:
        if report_editable and item.review_state is None:
            actions += ["update", "delete"]
        elif item.review_state == "returned":
            actions.append("update")
    if own and Permission.reports_submit in perms and item.review_state == "returned":
        actions.append("resubmit")
    if Permission.reports_review in perms:
        if report.state == "approved" and item.review_state is None:
            actions.append("return")
        if item.review_state == "resubmitted":
            actions.append("approve")
    return actions


# Reading ----------------------------------------------------------------------------------


async def read_items(
    session: AsyncSession,
    kind: Kind,
    items: list[Any],
    report: Report,
    period: ReportingPeriod,
    caller: User,
) -> list[BaseModel]:
    if not items:
        return []
    common = [
        {
            "id": i.id,
            "report_id": i.report_id,
            "client_id": i.client_id,
            "review_state": i.review_state,
            "version": i.version,
            "created_at": i.created_at,
            "updated_at": i.updated_at,
            "allowed_actions": item_actions(i, report, period, caller),
        }
        for i in items
    ]
    if kind is TASK:
        rows = (
            await session.execute(
                select(col(Task.id), col(Task.code), col(Task.title)).where(
                    col(Task.id).in_([i.task_id for i in items])
                )
            )
        ).all()
        refs = {tid: (code, title) for tid, code, title in rows}
        return [
            TaskUpdateRead(
                **c,
                task=ItemRef(code=refs[i.task_id][0], title=refs[i.task_id][1]),
                status=i.status,
                percent_complete=i.percent_complete,
                public_summary=i.public_summary,
                internal_difficulties=i.internal_difficulties,
                next_steps=i.next_steps,
            )
            for c, i in zip(common, items, strict=True)
        ]
    if kind is INDICATOR:
        target_rows = (
            await session.execute(
                select(
                    col(IndicatorTarget.id),
                    col(IndicatorTarget.code),
                    col(IndicatorTarget.metric),
                    col(Indicator.code),
                )
                .join(Indicator, col(Indicator.id) == col(IndicatorTarget.indicator_id))
                .where(col(IndicatorTarget.id).in_([i.target_id for i in items]))
            )
        ).all()
        targets = {tid: (code, metric, ind) for tid, code, metric, ind in target_rows}
        district_rows = (
            await session.execute(
                select(col(Agency.id), col(Agency.code)).where(
                    col(Agency.id).in_(
                        [i.district_agency_id for i in items if i.district_agency_id]
                    )
                )
            )
        ).all()
        districts = {aid: code for aid, code in district_rows}
        return [
            IndicatorValueRead(
                **c,
                target=ItemRef(code=targets[i.target_id][0], title=targets[i.target_id][1]),
                indicator=targets[i.target_id][2],
                value=_num(i.value),
                achieved=i.achieved,
                numerator=_num(i.numerator),
                denominator=_num(i.denominator),
                as_of=i.as_of,
                level=i.level,
                district=districts.get(i.district_agency_id),
                source=i.source,
                provenance=i.provenance,
            )
            for c, i in zip(common, items, strict=True)
        ]
    docs = {
        did: (code, title)
        for did, code, title in (
            await session.execute(
                select(col(Document.id), col(Document.code), col(Document.title)).where(
                    col(Document.id).in_([i.document_id for i in items])
                )
            )
        ).all()
    }
    return [
        DocumentUpdateRead(
            **c,
            document=ItemRef(code=docs[i.document_id][0], title=docs[i.document_id][1]),
            status=i.status,
            issued_number=i.issued_number,
            issued_on=i.issued_on,
            note=i.note,
        )
        for c, i in zip(common, items, strict=True)
    ]


def _num(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


_DECIMAL_FIELDS = ("value", "numerator", "denominator")


def _decimals(fields: dict[str, Any]) -> dict[str, Any]:
    """Numbers arrive as floats; the columns are exact decimals."""
    return {
        k: Decimal(str(v)) if k in _DECIMAL_FIELDS and v is not None else v
        for k, v in fields.items()
    }


async def list_items(
    session: AsyncSession, kind: Kind, report: Report, period: ReportingPeriod, caller: User
) -> list[BaseModel]:
    items = list(
        (
            await session.execute(
                select(kind.model)
                .where(col(kind.model.report_id) == report.id)
                .order_by(col(kind.model.id))
            )
        ).scalars()
    )
    return await read_items(session, kind, items, report, period, caller)


# Writing ----------------------------------------------------------------------------------


async def _plan_item_id(
    session: AsyncSession, model: Any, plan: Plan, key: Any, value: Any, field: str
) -> int:
    """The id of the plan's task or document named in the body; 422 when there is none."""
    found = (
        await session.execute(
            select(col(model.id)).where(col(model.plan_id) == plan.id, col(key) == value)
        )
    ).scalar()
    if found is None:
        raise FieldValidationError([(field, f"unknown_{field}")])
    return int(found)


async def _resolve(
    session: AsyncSession, kind: Kind, plan: Plan, agency_id: int, body: Any
) -> dict[str, Any]:
    """Column values naming the item's subject, after checking the agency is assigned it."""
    values: dict[str, Any]
    if kind is TASK:
        task_id = await _plan_item_id(session, Task, plan, Task.code, body.task, "task")
        link = linked_to_agency(TaskAgency, "task_id", task_id, agency_id)
        field, values = "task", {"task_id": task_id}
    elif kind is INDICATOR:
        row = (
            await session.execute(
                select(col(IndicatorTarget.id), col(IndicatorTarget.kind), col(Indicator.id))
                .join(Indicator, col(Indicator.id) == col(IndicatorTarget.indicator_id))
                .where(col(Indicator.plan_id) == plan.id, col(IndicatorTarget.code) == body.target)
            )
        ).first()
        if row is None:
            raise FieldValidationError([("target", "unknown_target")])
        target_id, target_kind, indicator_id = row
        link = linked_to_agency(IndicatorAgency, "indicator_id", indicator_id, agency_id)
        field, values = "target", {"target_id": int(target_id or 0)}
        _check_value(target_kind, body.value, body.achieved)
        values["district_agency_id"] = await _district(session, body.district)
    else:
        document_id = await _plan_item_id(
            session, Document, plan, Document.number, body.document, "document"
        )
        link = linked_to_agency(DocumentAgency, "document_id", document_id, agency_id)
        field, values = "document", {"document_id": document_id}
    if not (await session.execute(select(link))).scalar():
        raise FieldValidationError([(field, "not_assigned")])
    return values


def _check_value(target_kind: str, value: float | None, achieved: bool | None) -> None:
    if target_kind == "numeric" and value is None:
        raise FieldValidationError([("value", "value_required")])
    if target_kind == "qualitative" and achieved is None:
        raise FieldValidationError([("achieved", "achieved_required")])


async def _district(session: AsyncSession, code: str | None) -> int | None:
    if code is None:
        return None
    agency_id = (
        await session.execute(
            select(col(Agency.id)).where(col(Agency.code) == code, col(Agency.kind) == "district")
        )
    ).scalar()
    if agency_id is None:
        raise FieldValidationError([("district", "unknown_district")])
    return int(agency_id)


def _check_issued(status: str | None, number: str | None, issued_on: Any) -> None:
    if status == "issued" and (not number or issued_on is None):
        raise FieldValidationError([("issued_number", "issued_fields_required")])


def _require_report_edit(report: Report, period: ReportingPeriod, caller: User) -> None:
    perms = permissions_of(caller.role)
    if Permission.reports_edit not in perms or report.agency_id != caller.agency_id:
        raise ForbiddenError()
    if period.status != "open":
        raise ConflictError("conflict.period_not_open")
    if report.state not in EDITABLE:
        raise ConflictError("conflict.invalid_state", state=report.state, action="edit")


async def create_item(
    session: AsyncSession, kind: Kind, plan: Plan, caller: User, report_id: int, body: Any
) -> tuple[Any, bool]:
    """(item, created). A client_id already stored for this report returns that item."""
    report, period, _ = await load_report(session, plan, caller, report_id)
    if body.client_id is not None:
        existing = (
            await session.execute(
                select(kind.model).where(col(kind.model.client_id) == body.client_id)
            )
        ).scalar()
        if existing is not None:
            if existing.report_id != report.id:
                raise ConflictError("conflict.client_id_taken")
            return existing, False
    _require_report_edit(report, period, caller)
    values = await _resolve(session, kind, plan, caller.agency_id, body)
    fields = _decimals(body.model_dump(exclude={"task", "target", "document", "district"}))
    if kind is DOCUMENT:
        _check_issued(fields["status"], fields.get("issued_number"), fields.get("issued_on"))
    item = kind.model(**fields, **values, report_id=report.id or 0, created_by_id=caller.id)
    session.add(item)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise ConflictError("conflict.item_exists") from exc
    await audit.record(
        session, caller, f"{kind.entity}.create", kind.entity, item.id, after=audit.snapshot(item)
    )
    return item, True


async def load_item(
    session: AsyncSession,
    kind: Kind,
    plan: Plan,
    caller: User,
    report_id: int,
    item_id: int,
    *,
    lock: bool = False,
) -> tuple[Any, Report, ReportingPeriod]:
    report, period, _ = await load_report(session, plan, caller, report_id, lock=lock)
    stmt = select(kind.model).where(
        col(kind.model.id) == item_id, col(kind.model.report_id) == report.id
    )
    if lock:
        stmt = stmt.with_for_update()
    item = (await session.execute(stmt)).scalar()
    if item is None:
        raise NotFoundError("item", item_id)
    return item, report, period


def _require_item(
    action: str, item: Any, report: Report, period: ReportingPeriod, caller: User
) -> None:
    needed = {
        "update": Permission.reports_edit,
        "delete": Permission.reports_edit,
        "resubmit": Permission.reports_submit,
        "return": Permission.reports_review,
        "approve": Permission.reports_review,
    }[action]
    if needed not in permissions_of(caller.role):
        raise ForbiddenError()
    if action in ("update", "delete", "resubmit") and report.agency_id != caller.agency_id:
        raise ForbiddenError()
    if action not in item_actions(item, report, period, caller):
        raise ConflictError(
            "conflict.invalid_state", state=item.review_state or report.state, action=action
        )


async def _item_for(
    session: AsyncSession,
    kind: Kind,
    plan: Plan,
    caller: User,
    report_id: int,
    item_id: int,
    action: str,
    if_match: str | None,
) -> tuple[Any, Report, ReportingPeriod]:
    """The item, locked, after checking the caller may `action` it now and If-Match."""
    item, report, period = await load_item(
        session, kind, plan, caller, report_id, item_id, lock=True
    )
    _require_item(action, item, report, period, caller)
    check_if_match(if_match, item_etag(kind, item))
    return item, report, period


async def update_item(
    session: AsyncSession,
    kind: Kind,
    plan: Plan,
    caller: User,
    report_id: int,
    item_id: int,
    body: Any,
    if_match: str | None,
) -> Any:
    item, _, _ = await _item_for(
        session, kind, plan, caller, report_id, item_id, "update", if_match
    )
    before = audit.snapshot(item)
    for field, value in _decimals(body.model_dump(exclude_unset=True)).items():
        setattr(item, field, value)
    if kind is INDICATOR:
        target_kind = (
            await session.execute(
                select(col(IndicatorTarget.kind)).where(col(IndicatorTarget.id) == item.target_id)
            )
        ).scalar_one()
        _check_value(target_kind, item.value, item.achieved)
    if kind is DOCUMENT:
        _check_issued(item.status, item.issued_number, item.issued_on)
    item.version += 1
    await session.flush()
    await session.refresh(item)  # updated_at is set by the database
    await audit.record(
        session,
        caller,
        f"{kind.entity}.update",
        kind.entity,
        item.id,
        before=before,
        after=audit.snapshot(item),
    )
    return item


async def delete_item(
    session: AsyncSession,
    kind: Kind,
    plan: Plan,
    caller: User,
    report_id: int,
    item_id: int,
    if_match: str | None,
) -> None:
    item, _, _ = await _item_for(
        session, kind, plan, caller, report_id, item_id, "delete", if_match
    )
    await audit.record(
        session, caller, f"{kind.entity}.delete", kind.entity, item.id, before=audit.snapshot(item)
    )
    await session.delete(item)
    await session.flush()


REVIEW_MOVES = {"return": "returned", "resubmit": "resubmitted", "approve": None}
ITEM_EVENTS = {
    "return": "item_reopened",
    "resubmit": "item_resubmitted",
    "approve": "item_approved",
}


async def review_item(
    session: AsyncSession,
    kind: Kind,
    plan: Plan,
    caller: User,
    report_id: int,
    item_id: int,
    action: str,
    comment: str | None,
    if_match: str | None,
) -> Any:
    """Return one item of an approved report, resubmit it corrected, approve it again."""
    item, report, period = await _item_for(
        session, kind, plan, caller, report_id, item_id, action, if_match
    )
    if action == "return" and not (comment and comment.strip()):
        raise FieldValidationError([("comment", "comment_required")])
    watch = webhooks.TaskStatusWatch()
    if kind is TASK and action != "resubmit":  # the item leaves or rejoins the public record
        await watch.start(session, [item.task_id])
    before = audit.snapshot(item)
    item.review_state = REVIEW_MOVES[action]
    item.version += 1
    await session.flush()
    await session.refresh(item)  # updated_at is set by the database
    await _event(
        session,
        report,
        caller,
        ITEM_EVENTS[action],
        comment=comment,
        item_kind=kind.path,
        item_id=item.id,
    )
    await audit.record(
        session,
        caller,
        f"{kind.entity}.{action}",
        kind.entity,
        item.id,
        before=before,
        after=audit.snapshot(item),
    )
    if action == "return":
        await notify_agency(
            session,
            report.agency_id,
            "item_reopened",
            f"item_reopened:{kind.entity}:{item.id}:{item.version}",
            report_id=report.id,
            period=period.title,
            comment=comment or "",
        )
    await watch.finish(session, report.id or 0)
    return item

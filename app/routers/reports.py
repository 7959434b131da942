"""Agency reports: items, the review workflow, history and comments."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from pydantic import BaseModel

from app.core.fields import fields_of
from app.core.idempotency import IdempotencyKeyHeader, idempotent
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.core.permissions import Permission
from app.deps import CurrentPlan, CurrentUser, SessionDep, require
from app.models import User
from app.schemas.reports import (
    CommentCreate,
    DocumentUpdateCreate,
    DocumentUpdatePatch,
    DocumentUpdateRead,
    EventRead,
    IndicatorValueCreate,
    IndicatorValuePatch,
    IndicatorValueRead,
    ReportCreate,
    ReportDetail,
    ReportPage,
    ReportRead,
    TaskUpdateCreate,
    TaskUpdatePatch,
    TaskUpdateRead,
    Transition,
)
from app.services import report_items as items
from app.services import reports as service

router = APIRouter(prefix="/reports", tags=["reports"])
queue_router = APIRouter(tags=["reports"])

ReportId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IfMatch = Annotated[
    str | None, Header(max_length=200, description="The ETag of the version being changed.")
]
WRITE_ERRORS = (400, 401, 403, 404, 409, 412, 422, 428)


async def _detail(
    session: SessionDep, plan: CurrentPlan, caller: User, report_id: int
) -> tuple[ReportDetail, str]:
    report, period, agency = await service.load_report(session, plan, caller, report_id)
    base = (await service.read_reports(session, [(report, period, agency)], caller))[0]
    lists = {
        kind.path.replace("-", "_"): await items.list_items(session, kind, report, period, caller)
        for kind in items.KINDS.values()
    }
    return ReportDetail(**base.model_dump(), **lists), service.report_etag(report)


@router.get(
    "",
    operation_id="reports-list",
    dependencies=[fields_of(ReportPage)],
    summary="List reports",
    responses=problems(401, 403, 422),
)
async def list_reports(
    session: SessionDep,
    plan: CurrentPlan,
    caller: CurrentUser,
    period_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    agency: Annotated[str | None, Query(max_length=32)] = None,
    state: Literal["draft", "submitted", "approved", "returned"] | None = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> ReportPage:
    """Staff of an agency see their agency's reports, drafts included; reviewers and
    observers see every agency's reports once submitted."""
    return await service.list_reports(
        session,
        plan,
        caller,
        period_id=period_id,
        agency=agency,
        state=state,
        after=decode_cursor("reports", cursor),
        limit=limit,
    )


@queue_router.get(
    "/review-queue",
    operation_id="reports-review-queue",
    summary="Reports waiting for review",
    responses=problems(401, 403, 422),
)
async def review_queue(
    session: SessionDep,
    plan: CurrentPlan,
    caller: Annotated[User, require(Permission.reports_review)],
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> ReportPage:
    """Submitted reports, oldest submission first."""
    return await service.list_reports(
        session,
        plan,
        caller,
        period_id=None,
        agency=None,
        state=None,
        after=decode_cursor("review-queue", cursor),
        limit=limit,
        queue=True,
    )


@router.post(
    "",
    operation_id="reports-create",
    summary="Start my agency's report",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportRead,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def create_report(
    request: Request,
    session: SessionDep,
    plan: CurrentPlan,
    body: ReportCreate,
    caller: Annotated[User, require(Permission.reports_edit)],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """The report belongs to the caller's agency; agency and author are never taken from
    the body. One report per agency and period (409 for a second)."""

    async def produce() -> tuple[int, ReportRead, dict[str, str]]:
        report = await service.create_report(session, plan, caller, body.period_id)
        rows = [await service.load_report(session, plan, caller, report.id or 0)]
        read = (await service.read_reports(session, rows, caller))[0]
        return (
            201,
            read,
            {"ETag": service.report_etag(report), "Location": f"/api/v1/reports/{report.id}"},
        )

    return await idempotent(session, request, caller, idempotency_key, produce)


@router.get(
    "/{report_id}",
    operation_id="reports-get",
    dependencies=[fields_of(ReportDetail)],
    summary="Get a report with its items",
    responses=problems(401, 404, 422),
)
async def get_report(
    response: Response,
    session: SessionDep,
    plan: CurrentPlan,
    caller: CurrentUser,
    report_id: ReportId,
) -> ReportDetail:
    """The report with every task update, indicator value and document update in it, and
    what the caller may do now (`allowed_actions`). Staff of the agency see its drafts;
    those who read every agency's reports see it once submitted; 404 otherwise. Its `ETag`
    is the `If-Match` for a transition."""
    detail, etag = await _detail(session, plan, caller, report_id)
    response.headers["ETag"] = etag
    return detail


def _transition_route(action: str, summary: str, doc: str) -> None:
    async def handler(
        response: Response,
        session: SessionDep,
        plan: CurrentPlan,
        caller: CurrentUser,
        report_id: ReportId,
        body: Transition | None = None,
        if_match: IfMatch = None,
    ) -> ReportDetail:
        await service.transition(
            session, plan, caller, report_id, action, body.comment if body else None, if_match
        )
        detail, etag = await _detail(session, plan, caller, report_id)
        response.headers["ETag"] = etag
        return detail

    handler.__doc__ = doc
    router.add_api_route(
        f"/{{report_id}}/{action}",
        handler,
        methods=["POST"],
        operation_id=f"reports-{action}",
        summary=summary,
        responses=problems(*WRITE_ERRORS),
    )


_transition_route(
    "submit",
    "Submit the report",
    "Agency leads; from draft or returned, while the period is open. "
    "Needs `If-Match`. Submitting after the due date marks the report late.",
)
_transition_route(
    "withdraw", "Withdraw a submitted report", "Agency leads, before review. Needs `If-Match`."
)
_transition_route(
    "approve", "Approve the report", "Reviewers. Its items become public. Needs `If-Match`."
)
_transition_route(
    "return",
    "Return the report",
    "Reviewers; `comment` (the reason) is required. Needs `If-Match`.",
)


@router.get(
    "/{report_id}/history",
    operation_id="reports-history",
    summary="The report's transitions",
    responses=problems(401, 404, 422),
)
async def history(
    session: SessionDep, plan: CurrentPlan, caller: CurrentUser, report_id: ReportId
) -> list[EventRead]:
    """Every transition of the report and of its single items (created, submitted,
    withdrawn, approved, returned, item sent back, resubmitted, approved), oldest first,
    with actor, time and comment. For whoever may see the report (404 otherwise)."""
    return await service.events(session, plan, caller, report_id, comments=False)


@router.get(
    "/{report_id}/comments",
    operation_id="reports-comments-list",
    summary="The review conversation",
    responses=problems(401, 404, 422),
)
async def comments(
    session: SessionDep, plan: CurrentPlan, caller: CurrentUser, report_id: ReportId
) -> list[EventRead]:
    """The comments between the agency and the reviewers, oldest first. For whoever may
    see the report (404 otherwise)."""
    return await service.events(session, plan, caller, report_id, comments=True)


@router.post(
    "/{report_id}/comments",
    operation_id="reports-comments-create",
    summary="Add to the conversation",
    status_code=status.HTTP_201_CREATED,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def add_comment(
    session: SessionDep,
    plan: CurrentPlan,
    caller: CurrentUser,
    report_id: ReportId,
    body: CommentCreate,
) -> EventRead:
    """Officers and agency leads on their agency's reports (drafts included), reviewers on
    any report once submitted; observers and administrators get 403. Returns the comment
    as an event of the conversation."""
    event = await service.add_comment(session, plan, caller, report_id, body.body)
    return EventRead(
        id=event.id or 0,
        action=event.action,
        from_state=None,
        to_state=None,
        item_kind=None,
        item_id=None,
        comment=event.comment,
        actor=caller.username,
        at=event.created_at,
    )


def _item_routes(
    kind: items.Kind,
    create_model: type[BaseModel],
    patch_model: type[BaseModel],
    read_model: type[BaseModel],
) -> None:
    base = f"/{{report_id}}/{kind.path}"
    name = kind.path
    subject, rules = {
        "task-updates": ("task (`task`: its code)", ""),
        "indicator-values": (
            "indicator target (`target`: its code)",
            " A numeric target needs `value`, a qualitative one `achieved`; `district` must"
            " name a district-level agency.",
        ),
        "document-updates": (
            "document (`document`: its row number in Phụ lục 2)",
            " Status `issued` needs `issued_number` and `issued_on`.",
        ),
    }[name]
    editable = "while the report is a draft or returned and its period is open"

    async def read_one(
        session: SessionDep, plan: CurrentPlan, caller: User, report_id: int, item: Any
    ) -> tuple[BaseModel, str]:
        report, period, _ = await service.load_report(session, plan, caller, report_id)
        read = (await items.read_items(session, kind, [item], report, period, caller))[0]
        return read, items.item_etag(kind, item)

    async def list_(
        session: SessionDep, plan: CurrentPlan, caller: CurrentUser, report_id: ReportId
    ) -> Any:
        report, period, _ = await service.load_report(session, plan, caller, report_id)
        return await items.list_items(session, kind, report, period, caller)

    async def create(
        request: Request,
        session: SessionDep,
        plan: CurrentPlan,
        caller: CurrentUser,
        report_id: ReportId,
        body: create_model,  # type: ignore[valid-type]
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response:
        async def produce() -> tuple[int, BaseModel, dict[str, str]]:
            item, created = await items.create_item(session, kind, plan, caller, report_id, body)
            read, etag = await read_one(session, plan, caller, report_id, item)
            return (201 if created else 200), read, {"ETag": etag}

        return await idempotent(session, request, caller, idempotency_key, produce)

    async def update(
        response: Response,
        session: SessionDep,
        plan: CurrentPlan,
        caller: CurrentUser,
        report_id: ReportId,
        item_id: ItemId,
        body: patch_model,  # type: ignore[valid-type]
        if_match: IfMatch = None,
    ) -> Any:
        item = await items.update_item(
            session, kind, plan, caller, report_id, item_id, body, if_match
        )
        read, etag = await read_one(session, plan, caller, report_id, item)
        response.headers["ETag"] = etag
        return read

    async def delete(
        session: SessionDep,
        plan: CurrentPlan,
        caller: CurrentUser,
        report_id: ReportId,
        item_id: ItemId,
        if_match: IfMatch = None,
    ) -> None:
        await items.delete_item(session, kind, plan, caller, report_id, item_id, if_match)

    router.add_api_route(
        base,
        list_,
        methods=["GET"],
        operation_id=f"reports-{name}-list",
        summary=f"List the report's {name}",
        description=f"The report's {name}, oldest first, each with what the caller may do "
        "with it now (`allowed_actions`). For whoever may see the report (404 otherwise).",
        response_model=list[read_model],  # type: ignore[valid-type]
        responses=problems(401, 404, 422),
    )
    router.add_api_route(
        base,
        create,
        methods=["POST"],
        operation_id=f"reports-{name}-create",
        summary=f"Add to the report's {name}",
        description=f"Officers and agency leads of the report's agency, {editable} (409 "
        f"otherwise). The body names a {subject} that the agency leads or coordinates, "
        "directly or through a group (422 `not_assigned` otherwise); one item per subject "
        f"and report (409 for a second).{rules} `Idempotency-Key` makes a retry safe; a "
        "`client_id` already stored for this report returns that item with 200.",
        status_code=201,
        response_model=read_model,
        responses={
            200: {"model": read_model, "description": "The item stored under this `client_id`."},
            **problems(*WRITE_ERRORS),
        },
    )
    router.add_api_route(
        f"{base}/{{item_id}}",
        update,
        methods=["PATCH"],
        operation_id=f"reports-{name}-update",
        summary=f"Change one of {name}",
        description=f"Officers and agency leads of the report's agency, {editable}, or "
        "while this item alone is sent back (409 otherwise). Only the fields sent change."
        f"{rules} Needs `If-Match` with the item's ETag (428 without, 412 when stale).",
        response_model=read_model,
        responses=problems(*WRITE_ERRORS),
    )
    router.add_api_route(
        f"{base}/{{item_id}}",
        delete,
        methods=["DELETE"],
        operation_id=f"reports-{name}-delete",
        summary=f"Remove one of {name}",
        description=f"Officers and agency leads of the report's agency, {editable} (409 "
        "otherwise). Needs `If-Match` with the item's ETag (428 without, 412 when stale).",
        status_code=204,
        responses=problems(*WRITE_ERRORS),
    )

    for action, summary, description in (
        (
            "return",
            "Send one item of an approved report back",
            "Reviewers, on an item of an approved report: sends it alone back to the agency "
            "for correction and notifies the agency; `comment` (the reason) is required. Its "
            "figures stop counting as approved until it is approved again.",
        ),
        (
            "resubmit",
            "Resubmit a corrected item",
            "Agency leads of the report's agency, on an item that was sent back: submits the "
            "correction for review.",
        ),
        (
            "approve",
            "Approve a resubmitted item",
            "Reviewers, on a resubmitted item: accepts the correction, so the item counts as "
            "approved again.",
        ),
    ):

        def make(action: str) -> Any:
            async def review(
                response: Response,
                session: SessionDep,
                plan: CurrentPlan,
                caller: CurrentUser,
                report_id: ReportId,
                item_id: ItemId,
                body: Transition | None = None,
                if_match: IfMatch = None,
            ) -> Any:
                item = await items.review_item(
                    session,
                    kind,
                    plan,
                    caller,
                    report_id,
                    item_id,
                    action,
                    body.comment if body else None,
                    if_match,
                )
                read, etag = await read_one(session, plan, caller, report_id, item)
                response.headers["ETag"] = etag
                return read

            return review

        router.add_api_route(
            f"{base}/{{item_id}}/{action}",
            make(action),
            methods=["POST"],
            operation_id=f"reports-{name}-{action}",
            summary=summary,
            description=f"{description} Needs `If-Match` with the item's ETag (428 without, "
            "412 when stale); 409 when the item is not in a state for this.",
            response_model=read_model,
            responses=problems(*WRITE_ERRORS),
        )


_item_routes(items.TASK, TaskUpdateCreate, TaskUpdatePatch, TaskUpdateRead)
_item_routes(items.INDICATOR, IndicatorValueCreate, IndicatorValuePatch, IndicatorValueRead)
_item_routes(items.DOCUMENT, DocumentUpdateCreate, DocumentUpdatePatch, DocumentUpdateRead)

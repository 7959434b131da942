"""Agency reports: items, the review workflow, history and comments."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status

from app.core.fields import fields_of
from app.core.http import model_response
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.core.permissions import Permission
from app.deps import CurrentPlan, CurrentUser, PlanQuery, SessionDep, require
from app.models import Agency, Report, ReportingPeriod, User
from app.routers.report_items import (
    WRITE_ERRORS,
    IfMatch,
    ItemId,
    PageArgs,
    ReportArgs,
    ReportId,
    register,
)
from app.schemas.reports import (
    CommentCreate,
    EventPage,
    EventRead,
    ReportCreate,
    ReportDetail,
    ReportPage,
    ReportRead,
    Transition,
)
from app.services import report_bodies
from app.services import report_events as events
from app.services import reports as service

# The path and header parameters are shared with app.routers.attachments.
__all__ = ["IfMatch", "ItemId", "ReportId", "queue_router", "router"]

router = APIRouter(prefix="/reports", tags=["reports"])
queue_router = APIRouter(tags=["reports"])


async def _detail(
    session: SessionDep, caller: User, row: tuple[Report, ReportingPeriod, Agency]
) -> tuple[ReportDetail, str]:
    """The report as shown, from the rows the service loaded or wrote (never reloaded)."""
    detail = (await report_bodies.report_details(session, [row], caller))[0]
    return detail, service.report_etag(row[0])


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
    dependencies=[fields_of(ReportPage)],
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
        after=decode_cursor("review-queue", cursor, bound=2**63),
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
    query: PlanQuery,
    body: ReportCreate,
    caller: Annotated[User, require(Permission.reports_edit)],
) -> Response:
    """The report belongs to the caller's agency; agency and author are never taken from
    the body. One report per agency and period (409 for a second)."""
    row = await service.create_report(session, plan, caller, body.period_id)
    report = row[0]
    read = (await service.read_reports(session, [row], caller))[0]
    location = f"/api/v1/reports/{report.id}{query}"
    return model_response(201, read, {"ETag": service.report_etag(report), "Location": location})


@router.get(
    "/{report_id}",
    operation_id="reports-get",
    dependencies=[fields_of(ReportDetail)],
    summary="Get a report with its items",
    responses=problems(401, 404, 422),
)
async def get_report(response: Response, call: ReportArgs) -> ReportDetail:
    """The report with every task update, indicator value and document update in it, and
    what the caller may do now (`allowed_actions`). Staff of the agency see its drafts;
    those who read every agency's reports see it once submitted; 404 otherwise. Its `ETag`
    is the `If-Match` for a transition."""
    row = await service.load_report(*call.args)
    detail, etag = await _detail(call.session, call.caller, row)
    response.headers["ETag"] = etag
    return detail


def _transition_route(action: str, summary: str, doc: str) -> None:
    async def handler(
        response: Response,
        call: ReportArgs,
        body: Transition | None = None,
        if_match: IfMatch = None,
    ) -> ReportDetail:
        comment = body.comment if body else None
        row = await service.transition(*call.args, action, comment, if_match)
        detail, etag = await _detail(call.session, call.caller, row)
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


def _events_route(comments: bool, path: str, op: str, summary: str, doc: str) -> None:
    async def handler(call: ReportArgs, paging: PageArgs) -> EventPage:
        after = decode_cursor(events.list_name(comments), paging.cursor)
        return await events.events(*call.args, comments=comments, after=after, limit=paging.limit)

    handler.__doc__ = doc
    router.add_api_route(
        f"/{{report_id}}/{path}",
        handler,
        methods=["GET"],
        operation_id=op,
        summary=summary,
        dependencies=[fields_of(EventPage)],
        responses=problems(401, 404, 422),
    )


_events_route(
    False,
    "history",
    "reports-history",
    "The report's transitions",
    "Every transition of the report and of its single items (created, submitted, withdrawn, "
    "approved, returned, item sent back, resubmitted, approved), oldest first, with actor, "
    "time and comment. For whoever may see the report (404 otherwise).",
)
_events_route(
    True,
    "comments",
    "reports-comments-list",
    "The review conversation",
    "The conversation between the agency and the reviewers, oldest first: comments written "
    "on their own, and the reasons given when the report or one item was returned "
    "(`event_id` names that transition in the history). For whoever may see the report "
    "(404 otherwise).",
)


CommentId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get(
    "/{report_id}/comments/{comment_id}",
    operation_id="reports-comments-get",
    summary="One comment of the conversation",
    dependencies=[fields_of(EventRead)],
    responses=problems(401, 404, 422),
)
async def get_comment(call: ReportArgs, comment_id: CommentId) -> EventRead:
    """For whoever may see the report (404 otherwise); the `Location` of a new comment."""
    return await events.get_comment(*call.args, comment_id)


@router.post(
    "/{report_id}/comments",
    operation_id="reports-comments-create",
    summary="Add to the conversation",
    status_code=status.HTTP_201_CREATED,
    response_model=EventRead,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def add_comment(call: ReportArgs, query: PlanQuery, body: CommentCreate) -> Response:
    """Officers and agency leads on their agency's reports (drafts included), reviewers on
    any report once submitted; observers and administrators get 403. Returns the comment
    as an event of the conversation, `Location` naming it. A comment is part of what the
    report shows: it moves the report's version (and ETag)."""
    read = await events.add_comment(*call.args, body.body)
    location = f"/api/v1/reports/{call.report_id}/comments/{read.id}{query}"
    return model_response(201, read, {"Location": location})


register(router)

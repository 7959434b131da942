"""The routes of every item kind (list, get, create, change, remove, return, resubmit,
approve), written once and registered per kind by `register`.

The handlers are generic over the kind's schemas (`C` create, `P` patch, `R` read), which
mypy checks. FastAPI reads a handler's parameter types at registration, and a type
variable names no model, so `_bind` writes the kind's concrete classes into the handler's
annotations before it is registered: FastAPI then validates and documents exactly the
kind's own models.
"""

from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Header, Path, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.dependencies import constructed
from app.core.fields import fields_of
from app.core.http import model_response
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.deps import CurrentPlan, CurrentUser, PlanQuery, SessionDep
from app.models import Plan, User
from app.schemas.common import Page
from app.schemas.reports import ItemCommon, Transition
from app.services import report_items as service
from app.services.item_kinds.base import ItemKind

ReportId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IfMatch = Annotated[
    str | None,
    Header(
        max_length=200,
        description="An ETag of the object as last read or written (opaque; 412 when stale).",
    ),
]
WRITE_ERRORS = (400, 401, 403, 404, 409, 412, 422, 428)
ETAG_RULE = "Needs `If-Match` with the item's ETag (428 without, 412 when stale)."
EDITABLE = "while the report is a draft or returned and its period is open"


class ReportCall:
    """What every route on one report takes: the request's session, the plan, the caller
    and the report's id (`args`, in the order the services take them)."""

    def __init__(
        self, session: SessionDep, plan: CurrentPlan, caller: CurrentUser, report_id: ReportId
    ) -> None:
        self.session, self.plan, self.caller, self.report_id = session, plan, caller, report_id

    @property
    def args(self) -> tuple[AsyncSession, Plan, User, int]:
        return self.session, self.plan, self.caller, self.report_id


class ItemCall(ReportCall):
    """A route on one item: the report's parameters and the item's id."""

    def __init__(
        self,
        session: SessionDep,
        plan: CurrentPlan,
        caller: CurrentUser,
        report_id: ReportId,
        item_id: ItemId,
    ) -> None:
        super().__init__(session, plan, caller, report_id)
        self.item_id = item_id


class PageQuery:
    def __init__(self, limit: LimitParam = DEFAULT_LIMIT, cursor: CursorParam = None) -> None:
        self.limit, self.cursor = limit, cursor


# Built on the event loop, not in the thread pool (app.core.dependencies).
ReportArgs = Annotated[ReportCall, constructed(ReportCall)]
ItemArgs = Annotated[ItemCall, constructed(ItemCall)]
PageArgs = Annotated[PageQuery, constructed(PageQuery)]

C = TypeVar("C", bound=BaseModel)
P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=ItemCommon)
Handler = Callable[..., Any]

REVIEWS = {
    "return": (
        "Send one item of an approved report back",
        "Reviewers, on an item of an approved report: sends it alone back to the agency for "
        "correction and notifies the agency; `comment` (the reason) is required and joins the "
        "conversation. Its figures stop counting as approved until it is approved again.",
    ),
    "resubmit": (
        "Resubmit a corrected item",
        "Agency leads of the report's agency, on an item that was sent back: submits the "
        "correction for review.",
    ),
    "approve": (
        "Approve a resubmitted item",
        "Reviewers, on a resubmitted item: accepts the correction, so the item counts as "
        "approved again.",
    ),
}


def _bind(handler: Handler, **annotations: type[BaseModel]) -> Handler:
    handler.__annotations__.update(annotations)
    return handler


class ItemRoutes(Generic[C, P, R]):
    """The routes of one kind, on `router` (mounted at /reports)."""

    def __init__(
        self, router: APIRouter, kind: ItemKind[Any, C, P, R], page: type[Page[R]]
    ) -> None:
        self.router, self.kind, self.page = router, kind, page
        self.base = f"/{{report_id}}/{kind.path}"

    def _add(
        self,
        route: str,
        handler: Handler,
        text: tuple[str, str],
        *,
        responses: dict[int | str, dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        """`route` is "METHOD path-suffix operation"; `text` the summary and description.
        Every route answers the kind's read model unless told otherwise."""
        method, suffix, op = route.split(" ")
        kwargs.setdefault("response_model", self.kind.read_schema)
        self.router.add_api_route(
            self.base + suffix.removeprefix("."),
            handler,
            methods=[method],
            operation_id=f"reports-{self.kind.path}-{op}",
            summary=text[0],
            description=text[1],
            responses=responses or problems(*WRITE_ERRORS),
            **kwargs,
        )

    def register(self) -> None:
        kind, name = self.kind, self.kind.path
        reads = problems(401, 404, 422)
        listed = (
            f"List the report's {name}",
            f"The report's {name}, oldest first, each with its `etag` and what the caller may "
            "do with it now (`allowed_actions`). For whoever may see the report (404 "
            "otherwise).",
        )
        self._add(
            "GET . list",
            self.list_handler(),
            listed,
            response_model=self.page,
            responses=reads,
            dependencies=[fields_of(self.page)],
        )
        got = (
            f"Get one of the report's {name}",
            "The item with its `ETag` (the `If-Match` of its writes). For whoever may see the "
            "report (404 otherwise).",
        )
        self._add(
            "GET /{item_id} get",
            self.get_handler(),
            got,
            responses=reads,
            dependencies=[fields_of(kind.read_schema)],
        )
        created = (
            f"Add to the report's {name}",
            f"Officers and agency leads of the report's agency, {EDITABLE} (409 otherwise). "
            f"The body names a {kind.subject_doc} that the agency leads or coordinates, "
            "directly or through a group (422 `not_assigned` otherwise); one item per subject "
            f"and report (409 for a second).{kind.rules_doc} `Idempotency-Key` makes a retry "
            "safe; a `client_id` already stored for this report answers that item with 200, "
            "also while the first create is still running.",
        )
        stored = {
            "model": kind.read_schema,
            "description": "The item stored under this `client_id`.",
        }
        create = _bind(self.create_handler(), body=kind.create_schema)
        self._add(
            "POST . create",
            create,
            created,
            status_code=201,
            responses={200: stored, **problems(*WRITE_ERRORS)},
        )
        changed = (
            f"Change one of {name}",
            f"Officers and agency leads of the report's agency, {EDITABLE}, or while this "
            "item alone is sent back (409 otherwise). Only the fields sent change."
            f"{kind.rules_doc} {ETAG_RULE}",
        )
        update = _bind(self.update_handler(), body=kind.patch_schema)
        self._add("PATCH /{item_id} update", update, changed)
        removed = (
            f"Remove one of {name}",
            f"Officers and agency leads of the report's agency, {EDITABLE} (409 otherwise). "
            f"{ETAG_RULE}",
        )
        delete = self.delete_handler()
        self._add("DELETE /{item_id} delete", delete, removed, status_code=204, response_model=None)
        for action, (summary, description) in REVIEWS.items():
            text = (
                summary,
                f"{description} {ETAG_RULE} 409 when the item is not in a state for this.",
            )
            self._add(f"POST /{{item_id}}/{action} {action}", self.review_handler(action), text)

    def list_handler(self) -> Handler:
        kind, page = self.kind, self.page

        async def list_(call: ReportArgs, paging: PageArgs) -> Page[R]:
            after = decode_cursor(service.list_name(kind), paging.cursor)
            items, total, next_cursor = await service.page_items(
                *call.args, kind, after=after, limit=paging.limit
            )
            return page(items=items, total=total, next_cursor=next_cursor)

        return list_

    def get_handler(self) -> Handler:
        kind = self.kind

        async def get(response: Response, call: ItemArgs) -> ItemCommon:
            read = await service.get_item(*call.args, kind, call.item_id)
            return tagged(response, read)

        return get

    def create_handler(self) -> Handler:
        kind = self.kind

        async def create(
            request: Request,
            call: ReportArgs,
            query: PlanQuery,
            body: C,
        ) -> Response:
            read, created = await service.create_item(*call.args, kind, body)
            if not created:  # the item stored under this client_id
                return model_response(200, read, {"ETag": read.etag})
            location = f"/api/v1/reports/{call.report_id}/{kind.path}/{read.id}{query}"
            return model_response(201, read, {"ETag": read.etag, "Location": location})

        return create

    def update_handler(self) -> Handler:
        kind = self.kind

        async def update(
            response: Response, call: ItemArgs, body: P, if_match: IfMatch = None
        ) -> ItemCommon:
            read = await service.update_item(*call.args, kind, call.item_id, body, if_match)
            return tagged(response, read)

        return update

    def delete_handler(self) -> Handler:
        kind = self.kind

        async def delete(call: ItemArgs, if_match: IfMatch = None) -> None:
            await service.delete_item(*call.args, kind, call.item_id, if_match)

        return delete

    def review_handler(self, action: str) -> Handler:
        kind = self.kind

        async def review(
            response: Response,
            call: ItemArgs,
            body: Transition | None = None,
            if_match: IfMatch = None,
        ) -> ItemCommon:
            comment = body.comment if body else None
            read = await service.review_item(
                *call.args, kind, call.item_id, action, comment, if_match
            )
            return tagged(response, read)

        return review


def tagged(response: Response, read: ItemCommon) -> ItemCommon:
    response.headers["ETag"] = read.etag
    return read


def register(router: APIRouter) -> None:
    for kind in service.KINDS.values():
        ItemRoutes(router, kind, kind.page_schema).register()

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

from app.core.idempotency import IdempotencyKeyHeader, idempotent
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.deps import CurrentPlan, CurrentUser, SessionDep
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
        self.one = f"{self.base}/{{item_id}}"

    def _add(self, path: str, handler: Handler, method: str, op: str, **kwargs: Any) -> None:
        self.router.add_api_route(
            path,
            handler,
            methods=[method],
            operation_id=f"reports-{self.kind.path}-{op}",
            **kwargs,
        )

    def register(self) -> None:
        kind, name = self.kind, self.kind.path
        self._add(
            self.base,
            self.list_handler(),
            "GET",
            "list",
            summary=f"List the report's {name}",
            description=f"The report's {name}, oldest first, each with its `etag` and what the "
            "caller may do with it now (`allowed_actions`). For whoever may see the report "
            "(404 otherwise).",
            response_model=self.page,
            responses=problems(401, 404, 422),
        )
        self._add(
            self.one,
            self.get_handler(),
            "GET",
            "get",
            summary=f"Get one of the report's {name}",
            description="The item with its `ETag` (the `If-Match` of its writes). For whoever "
            "may see the report (404 otherwise).",
            response_model=kind.read_schema,
            responses=problems(401, 404, 422),
        )
        self._add(
            self.base,
            _bind(self.create_handler(), body=kind.create_schema),
            "POST",
            "create",
            summary=f"Add to the report's {name}",
            description=f"Officers and agency leads of the report's agency, {EDITABLE} (409 "
            f"otherwise). The body names a {kind.subject_doc} that the agency leads or "
            "coordinates, directly or through a group (422 `not_assigned` otherwise); one item "
            f"per subject and report (409 for a second).{kind.rules_doc} `Idempotency-Key` "
            "makes a retry safe; a `client_id` already stored for this report answers that "
            "item with 200, also while the first create is still running.",
            status_code=201,
            response_model=kind.read_schema,
            responses={
                200: {
                    "model": kind.read_schema,
                    "description": "The item stored under this `client_id`.",
                },
                **problems(*WRITE_ERRORS),
            },
        )
        self._add(
            self.one,
            _bind(self.update_handler(), body=kind.patch_schema),
            "PATCH",
            "update",
            summary=f"Change one of {name}",
            description=f"Officers and agency leads of the report's agency, {EDITABLE}, or "
            "while this item alone is sent back (409 otherwise). Only the fields sent change."
            f"{kind.rules_doc} {ETAG_RULE}",
            response_model=kind.read_schema,
            responses=problems(*WRITE_ERRORS),
        )
        self._add(
            self.one,
            self.delete_handler(),
            "DELETE",
            "delete",
            summary=f"Remove one of {name}",
            description=f"Officers and agency leads of the report's agency, {EDITABLE} (409 "
            f"otherwise). {ETAG_RULE}",
            status_code=204,
            responses=problems(*WRITE_ERRORS),
        )
        for action, (summary, description) in REVIEWS.items():
            self._add(
                f"{self.one}/{action}",
                self.review_handler(action),
                "POST",
                action,
                summary=summary,
                description=f"{description} {ETAG_RULE} 409 when the item is not in a state "
                "for this.",
                response_model=kind.read_schema,
                responses=problems(*WRITE_ERRORS),
            )

    def list_handler(self) -> Handler:
        kind, page = self.kind, self.page

        async def list_(
            session: SessionDep,
            plan: CurrentPlan,
            caller: CurrentUser,
            report_id: ReportId,
            limit: LimitParam = DEFAULT_LIMIT,
            cursor: CursorParam = None,
        ) -> Page[R]:
            after = decode_cursor(service.list_name(kind), cursor)
            items, total, next_cursor = await service.page_items(
                session, kind, plan, caller, report_id, after=after, limit=limit
            )
            return page(items=items, total=total, next_cursor=next_cursor)

        return list_

    def get_handler(self) -> Handler:
        kind = self.kind

        async def get(
            response: Response,
            session: SessionDep,
            plan: CurrentPlan,
            caller: CurrentUser,
            report_id: ReportId,
            item_id: ItemId,
        ) -> ItemCommon:
            read = await service.get_item(session, kind, plan, caller, report_id, item_id)
            response.headers["ETag"] = read.etag
            return read

        return get

    def create_handler(self) -> Handler:
        kind = self.kind

        async def create(
            request: Request,
            session: SessionDep,
            plan: CurrentPlan,
            caller: CurrentUser,
            report_id: ReportId,
            body: C,
            idempotency_key: IdempotencyKeyHeader = None,
        ) -> Response:
            async def produce() -> tuple[int, BaseModel, dict[str, str]]:
                read, created = await service.create_item(
                    session, kind, plan, caller, report_id, body
                )
                return (201 if created else 200), read, {"ETag": read.etag}

            return await idempotent(session, request, caller, idempotency_key, produce)

        return create

    def update_handler(self) -> Handler:
        kind = self.kind

        async def update(
            response: Response,
            session: SessionDep,
            plan: CurrentPlan,
            caller: CurrentUser,
            report_id: ReportId,
            item_id: ItemId,
            body: P,
            if_match: IfMatch = None,
        ) -> ItemCommon:
            ids = (report_id, item_id)
            read = await service.update_item(session, kind, plan, caller, ids, body, if_match)
            response.headers["ETag"] = read.etag
            return read

        return update

    def delete_handler(self) -> Handler:
        kind = self.kind

        async def delete(
            session: SessionDep,
            plan: CurrentPlan,
            caller: CurrentUser,
            report_id: ReportId,
            item_id: ItemId,
            if_match: IfMatch = None,
        ) -> None:
            await service.delete_item(session, kind, plan, caller, (report_id, item_id), if_match)

        return delete

    def review_handler(self, action: str) -> Handler:
        kind = self.kind

        async def review(
            response: Response,
            session: SessionDep,
            plan: CurrentPlan,
            caller: CurrentUser,
            report_id: ReportId,
            item_id: ItemId,
            body: Transition | None = None,
            if_match: IfMatch = None,
        ) -> ItemCommon:
            comment = body.comment if body else None
            ids = (report_id, item_id)
            read = await service.review_item(
                session, kind, plan, caller, ids, action, comment, if_match
            )
            response.headers["ETag"] = read.etag
            return read

        return review


def register(router: APIRouter) -> None:
    for kind in service.KINDS.values():
        ItemRoutes(router, kind, kind.page_schema).register()

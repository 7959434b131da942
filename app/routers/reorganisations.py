"""Reorganisations: the recorded events that merged, renamed or ended the plan's agencies."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response, status

from app.core.fields import fields_of
from app.core.http import model_response
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.core.permissions import Permission
from app.deps import SessionDep, Today, require
from app.models import User
from app.routers.params import AgencyFilter
from app.schemas.reorganisations import (
    ReorganisationCreate,
    ReorganisationPage,
    ReorganisationRead,
    ReorganisationUpdate,
)
from app.services import reorganisations as service

router = APIRouter(prefix="/reorganisations", tags=["reorganisations"])

EventCode = Annotated[
    str, Path(max_length=40, pattern=r"^[A-Z0-9][A-Z0-9_-]*$", examples=["HD-2025-03-KHCN"])
]
IfMatch = Annotated[
    str | None,
    Header(max_length=200, description="The event's ETag, from GET /reorganisations/{code}."),
]


@router.get(
    "",
    operation_id="reorganisations-list",
    dependencies=[fields_of(ReorganisationPage)],
    summary="List reorganisations",
    responses=problems(422),
)
async def list_reorganisations(
    session: SessionDep,
    agency: AgencyFilter = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> ReorganisationPage:
    """Public, for every plan. The recorded events (mergers, renames, dissolutions, transfers
    of functions, the end of the district level) in date order, each with its predecessor and
    successor agencies, the agencies it introduced, transfers and legal basis. `verified:
    false` marks what the sources could not confirm. `agency`: events naming that agency."""
    return await service.list_events(
        session, agency=agency, after=decode_cursor("reorganisations", cursor), limit=limit
    )


@router.get(
    "/{code}",
    operation_id="reorganisations-get",
    dependencies=[fields_of(ReorganisationRead)],
    summary="Get a reorganisation",
    responses=problems(404, 422),
)
async def get_reorganisation(
    response: Response, session: SessionDep, code: EventCode
) -> ReorganisationRead:
    """Public. One event; its `ETag` is the `If-Match` for a correction."""
    event = await service.get_event(session, code)
    response.headers["ETag"] = service.event_etag(event)
    return (await service.read_events(session, [event]))[0]


@router.post(
    "",
    operation_id="reorganisations-create",
    summary="Record a reorganisation",
    status_code=status.HTTP_201_CREATED,
    response_model=ReorganisationRead,
    responses=problems(400, 401, 403, 409, 422),
)
async def create_reorganisation(
    session: SessionDep,
    today: Today,
    body: ReorganisationCreate,
    caller: Annotated[User, require(Permission.reorganisations_manage)],
) -> Response:
    """Administrators only. Records an event (and the agencies it brings into being, in
    `new_agencies`); every answer's `responsible` follows it at once, and the plan items whose
    `responsible` today it changes appear in the sync feed. Refused with 422 when
    it names an unknown agency or plan item, when an agency would act before it exists, when
    successions would loop, or when its kind's shape is not met (a merge has successors, a
    rename one of each, a verified event a legal basis with a number, an unverified one notes);
    409 when the code is taken. Audited."""
    event = await service.create_event(session, caller, body, today)
    read = (await service.read_events(session, [event]))[0]
    return model_response(
        201,
        read,
        {"ETag": service.event_etag(event), "Location": f"/api/v1/reorganisations/{event.code}"},
    )


@router.patch(
    "/{code}",
    operation_id="reorganisations-update",
    summary="Correct a reorganisation",
    responses=problems(400, 401, 403, 404, 412, 422, 428),
)
async def update_reorganisation(
    response: Response,
    session: SessionDep,
    today: Today,
    code: EventCode,
    body: ReorganisationUpdate,
    caller: Annotated[User, require(Permission.reorganisations_manage)],
    if_match: IfMatch = None,
) -> ReorganisationRead:
    """Administrators only; needs `If-Match` (428 without, 412 when stale). The lists given
    replace the stored ones; the same rules as for recording apply. A corrected event is
    `origin: api` from then on: `dxplan seed` no longer overwrites it. Audited with the event
    before and after."""
    event = await service.get_event(session, code, lock=True)
    event = await service.update_event(session, caller, event, body, if_match, today)
    response.headers["ETag"] = service.event_etag(event)
    return (await service.read_events(session, [event]))[0]

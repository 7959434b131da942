"""User administration and the scoped directory of staff."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status

from app.core.fields import fields_of
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.core.permissions import Permission, Role
from app.deps import SessionDep, SettingsDep, Today, require
from app.models import User
from app.routers.params import SearchQuery
from app.schemas.users import PasswordReset, UserCreate, UserPage, UserRead, UserUpdate
from app.services import users as service

router = APIRouter(prefix="/users", tags=["users"])

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IfMatch = Annotated[
    str | None, Header(max_length=200, description="The user's ETag, from GET /users/{user_id}.")
]


@router.get(
    "",
    operation_id="users-list",
    dependencies=[fields_of(UserPage)],
    summary="List users",
    responses=problems(401, 403, 422),
)
async def list_users(
    session: SessionDep,
    caller: Annotated[User, require(Permission.users_read)],
    agency: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Z0-9_]+$")] = None,
    role: Role | None = None,
    active: bool | None = None,
    q: SearchQuery = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> UserPage:
    """Reviewers, observers and administrators see every agency's users; officers and
    agency leads see their own agency's only."""
    return await service.list_users(
        session,
        caller,
        agency=agency,
        role=role,
        active=active,
        q=q,
        after=decode_cursor("users", cursor),
        limit=limit,
    )


@router.post(
    "",
    operation_id="users-create",
    summary="Create a user",
    status_code=status.HTTP_201_CREATED,
    responses=problems(400, 401, 403, 409, 422),
)
async def create_user(
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    today: Today,
    body: UserCreate,
    caller: Annotated[User, require(Permission.users_manage)],
) -> UserRead:
    """Administrators only. Reviewers must belong to the plan's reviewing department, Sở
    TTTT (`STTTT`), or to a department that succeeded it (`GET /plan`,
    `succession.reviewer`: today `HP_SKHCN`). An agency that has ended (`valid_to` before
    today) takes no new user: 422 `validation_error` of type `agency_ended` naming its
    successors (`DXPLAN_REFUSE_ENDED_AGENCIES`, on by default)."""
    user = await service.create_user(session, body, settings, caller, today)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    response.headers["ETag"] = service.etag("user", user.id, 1)
    return user


@router.get(
    "/{user_id}",
    operation_id="users-get",
    dependencies=[fields_of(UserRead)],
    summary="Get a user",
    responses=problems(401, 403, 404, 422),
)
async def get_user(
    response: Response,
    session: SessionDep,
    user_id: UserId,
    caller: Annotated[User, require(Permission.users_read)],
) -> UserRead:
    """404 for a user of another agency when the caller may only see their own."""
    user, agency = await service.get_user(session, caller, user_id)
    response.headers["ETag"] = service.user_etag(user)
    return service.user_read(user, agency)


@router.patch(
    "/{user_id}",
    operation_id="users-update",
    summary="Change a user",
    responses=problems(400, 401, 403, 404, 409, 412, 422, 428),
)
async def update_user(
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    today: Today,
    user_id: UserId,
    body: UserUpdate,
    caller: Annotated[User, require(Permission.users_manage)],
    if_match: IfMatch = None,
) -> UserRead:
    """Administrators only; needs `If-Match`. Deactivating a user revokes all their
    tokens at once. Moving a user into an agency that has ended is refused like creating
    one there (422, `agency_ended`); a user whose agency has ended signs in again once
    moved to a current one."""
    user, new_etag = await service.update_user(
        session, caller, user_id, body, if_match, settings, today
    )
    response.headers["ETag"] = new_etag
    return user


@router.post(
    "/{user_id}/password-reset",
    operation_id="users-password-reset",
    summary="Set a user's password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(400, 401, 403, 404, 422),
)
async def reset_password(
    session: SessionDep,
    settings: SettingsDep,
    user_id: UserId,
    body: PasswordReset,
    caller: Annotated[User, require(Permission.users_manage)],
) -> None:
    """Administrators only. Revokes the user's tokens."""
    await service.reset_password(session, caller, user_id, body, settings)

"""The signed-in user's own profile."""

from typing import Annotated

from fastapi import APIRouter, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.fields import fields_of
from app.core.openapi import problems
from app.core.permissions import Permission
from app.deps import CurrentUser, SessionDep, SettingsDep, require
from app.models import Agency, User
from app.schemas.users import MeRead, PasswordChange
from app.services import users as service

router = APIRouter(prefix="/me", tags=["me"])


async def _agency(session: AsyncSession, user: User) -> Agency:
    agency = await session.get(Agency, user.agency_id)
    assert agency is not None  # agency_id is a foreign key
    return agency


@router.get(
    "",
    operation_id="me-get",
    summary="Who am I",
    dependencies=[fields_of(MeRead)],
    responses=problems(401, 422),
)
async def get_me(session: SessionDep, user: CurrentUser) -> MeRead:
    """The account, its agency and role, and the permissions the app draws its menus from."""
    return service.me_read(user, await _agency(session, user))


@router.post(
    "/password",
    operation_id="me-password",
    summary="Change my password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(400, 401, 403, 422),
)
async def change_password(
    session: SessionDep,
    settings: SettingsDep,
    body: PasswordChange,
    user: Annotated[User, require(Permission.profile_password)],
) -> None:
    """Needs the current password. Ends every session of the account, this one included:
    sign in again with the new password."""
    await service.change_own_password(session, user, body, settings)

"""The signed-in user's notifications: list, mark one read, mark all read."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status

from app.core.fields import fields_of
from app.core.i18n import Lang, negotiate
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.deps import CurrentUser, SessionDep
from app.schemas.notifications import NotificationPage
from app.services import notifications as service

router = APIRouter(prefix="/me/notifications", tags=["me"])

NotificationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _lang(request: Request) -> Lang:
    return negotiate(request.headers.get("accept-language"))


@router.get(
    "",
    operation_id="notifications-list",
    dependencies=[fields_of(NotificationPage)],
    summary="My notifications",
    responses=problems(401, 422),
)
async def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    lang: Annotated[Lang, Depends(_lang)],
    unread: bool | None = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> NotificationPage:
    """Newest first. `unread=true` lists only unread ones, `unread=false` only read ones.
    `message` follows `Accept-Language` (Vietnamese by default, English with `en`). A
    notice about a report I may no longer see (after a move to another agency or a role
    change) is left out, like everything about that report."""
    return await service.list_notifications(
        session,
        user,
        lang,
        unread=unread,
        after=decode_cursor("notifications", cursor),
        limit=limit,
    )


@router.post(
    "/read-all",
    operation_id="notifications-read-all",
    summary="Mark all my notifications read",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401),
)
async def mark_all_read(session: SessionDep, user: CurrentUser) -> None:
    """Marks every unread notification of the signed-in user read now; those already read
    keep their read time. Always 204, also when none was unread."""
    await service.mark_all_read(session, user)


@router.post(
    "/{notification_id}/read",
    operation_id="notifications-read",
    summary="Mark a notification read",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 404, 422),
)
async def mark_read(
    session: SessionDep, user: CurrentUser, notification_id: NotificationId
) -> None:
    """Idempotent: marking it again keeps the first read time. Someone else's
    notification is 404."""
    await service.mark_read(session, user, notification_id)

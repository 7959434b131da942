"""Users: scoped reading, administration, passwords."""

from datetime import date

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.config import Settings
from app.core.errors import ConflictError, FieldValidationError, NotFoundError
from app.core.http import check_if_match, etag

__all__ = ["etag"]
from app.core.pagination import SortKey
from app.core.permissions import REVIEWER_AGENCY, Permission, Role, permissions_of
from app.core.security import hash_password, password_problems, verify_password
from app.core.text import fold
from app.models import Agency, User
from app.schemas.users import (
    MeRead,
    PasswordChange,
    PasswordReset,
    UserCreate,
    UserPage,
    UserRead,
    UserUpdate,
)
from app.services import audit
from app.services.auth import revoke_user_tokens, utcnow
from app.services.common import agency_ref, fetch_page, search_clause
from app.services.ended_agencies import ended, refuse_placement, today_in_vietnam
from app.services.lineage import load_lineage


def user_etag(user: User) -> str:
    return etag("user", user.id or 0, user.version)


def user_read(user: User, agency: Agency) -> UserRead:
    return UserRead(
        id=user.id or 0,
        username=user.username,
        full_name=user.full_name,
        email=user.email,
        phone=user.phone,
        agency=agency_ref(agency),
        role=Role(user.role),
        is_active=user.is_active,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def me_read(user: User, agency: Agency) -> MeRead:
    return MeRead(
        **user_read(user, agency).model_dump(), permissions=sorted(permissions_of(user.role))
    )


def _scope(caller: User) -> ColumnElement[bool] | None:
    """Officers and agency leads see their own agency's users; others see everyone."""
    if Permission.users_read_all in permissions_of(caller.role):
        return None
    return col(User.agency_id) == caller.agency_id


def _search_text(user: User) -> str:
    return fold(" ".join(filter(None, [user.username, user.full_name, user.email])))


async def reviewer_agencies(session: AsyncSession) -> set[str]:
    """Where reviewers may work: the plan's reviewing department (Sở TTTT) and every agency
    that has carried its part since, through the reorganisations (Sở KH&CN from March 2025,
    Sở KH&CN thành phố Hải Phòng from July 2025)."""
    lineage = await load_lineage(session)
    codes = {REVIEWER_AGENCY}
    if REVIEWER_AGENCY in lineage.agencies:
        for event in lineage.events:
            codes.update(lineage.chain(REVIEWER_AGENCY, event.date)[0])
    return codes


async def _agency_for_user(
    session: AsyncSession,
    code: str,
    role: str,
    *,
    settings: Settings,
    today: date,
    placing: bool = True,
) -> Agency:
    """The agency a user is created in or given (``placing``), or keeps while their role
    changes: it exists, is not a group, suits the role, and (when placing, with
    ``settings.refuse_ended_agencies``) has not ended before ``today``."""
    agency = (await session.execute(select(Agency).where(col(Agency.code) == code))).scalar()
    if agency is None:
        raise FieldValidationError([("agency", "unknown_agency")])
    if agency.kind == "group":
        raise FieldValidationError([("agency", "group_agency")])
    if placing and settings.refuse_ended_agencies:
        found = await ended(session, agency, today)
        if found is not None:
            raise refuse_placement(found)
    if role == Role.reviewer and agency.code not in await reviewer_agencies(session):
        raise FieldValidationError([("role", "reviewer_agency")])
    return agency


def _check_password(
    password: str, settings: Settings, *names: str, field: str = "password"
) -> None:
    problems = password_problems(
        password, min_length=settings.password_min_length, names=[n for n in names if n]
    )
    if problems:
        raise FieldValidationError([(field, p) for p in problems])


async def list_users(
    session: AsyncSession,
    caller: User,
    *,
    agency: str | None,
    role: Role | None,
    active: bool | None,
    q: str | None,
    after: SortKey | None,
    limit: int,
) -> UserPage:
    stmt = select(User, Agency).join(Agency, col(Agency.id) == col(User.agency_id))
    if (scope := _scope(caller)) is not None:
        stmt = stmt.where(scope)
    if agency is not None:
        stmt = stmt.where(col(Agency.code) == agency)
    if role is not None:
        stmt = stmt.where(col(User.role) == role)
    if active is not None:
        stmt = stmt.where(col(User.is_active) == active)
    if q is not None and (clause := search_clause(User.search_text, q)) is not None:
        stmt = stmt.where(clause)
    rows, total, next_cursor = await fetch_page(
        session,
        stmt,
        sort_column=col(User.id),
        id_column=col(User.id),
        after=after,
        limit=limit,
        list_name="users",
        grows=True,
    )
    return UserPage(
        items=[user_read(u, a) for u, a in rows],
        total=total,
        total_exact=total.exact,
        next_cursor=next_cursor,
    )


async def get_user(session: AsyncSession, caller: User, user_id: int) -> tuple[User, Agency]:
    """The user if the caller may see them; 404 otherwise, so existence does not leak."""
    stmt = (
        select(User, Agency)
        .join(Agency, col(Agency.id) == col(User.agency_id))
        .where(col(User.id) == user_id)
    )
    if (scope := _scope(caller)) is not None:
        stmt = stmt.where(scope)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFoundError("user", user_id)
    return row[0], row[1]


async def create_user(
    session: AsyncSession,
    body: UserCreate,
    settings: Settings,
    caller: User | None = None,
    today: date | None = None,
) -> UserRead:
    """A new account; refused (422) in an agency that has ended before ``today`` (default
    today in Việt Nam) while ``settings.refuse_ended_agencies``."""
    agency = await _agency_for_user(
        session, body.agency, body.role, settings=settings, today=today or today_in_vietnam()
    )
    _check_password(body.password, settings, body.username, body.full_name)
    user = User(
        username=body.username,
        full_name=body.full_name,
        email=body.email,
        phone=body.phone,
        password_hash=await hash_password(body.password),
        agency_id=agency.id or 0,
        role=body.role,
    )
    user.search_text = _search_text(user)
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise ConflictError("conflict.username_taken", username=body.username) from exc
    await session.refresh(user)
    await audit.record(session, caller, "user.create", "user", user.id, after=audit.snapshot(user))
    return user_read(user, agency)


async def update_user(
    session: AsyncSession,
    caller: User,
    user_id: int,
    body: UserUpdate,
    if_match: str | None,
    settings: Settings,
    today: date,
) -> tuple[UserRead, str]:
    """Moving a user into an agency that has ended before ``today`` is refused (422) while
    ``settings.refuse_ended_agencies``; a user left in an ended agency may still be changed
    (deactivated, renamed, given another role)."""
    user, agency = await get_user(session, caller, user_id)
    check_if_match(if_match, user_etag(user))
    before = audit.snapshot(user)
    changes = body.model_dump(exclude_unset=True)
    role = changes.get("role", user.role)
    if user.id == caller.id and (role != Role.admin or changes.get("is_active") is False):
        raise ConflictError("conflict.self_lockout")
    if "agency" in changes or "role" in changes:
        code = changes.pop("agency", agency.code)
        agency = await _agency_for_user(
            session, code, role, settings=settings, today=today, placing=code != agency.code
        )
        user.agency_id = agency.id or 0
    for field in ("full_name", "email", "phone", "role", "is_active"):
        if field in changes and changes[field] is not None:
            setattr(user, field, changes[field])
    if changes.get("is_active") is False:
        await revoke_user_tokens(session, user, utcnow())
    user.search_text = _search_text(user)
    user.version += 1
    await session.flush()
    await session.refresh(user)
    await audit.record(
        session, caller, "user.update", "user", user.id, before=before, after=audit.snapshot(user)
    )
    return user_read(user, agency), user_etag(user)


async def reset_password(
    session: AsyncSession, caller: User, user_id: int, body: PasswordReset, settings: Settings
) -> None:
    user, _ = await get_user(session, caller, user_id)
    _check_password(
        body.new_password, settings, user.username, user.full_name, field="new_password"
    )
    before = audit.snapshot(user)
    user.password_hash = await hash_password(body.new_password)
    user.version += 1
    await revoke_user_tokens(session, user, utcnow())
    await audit.record(
        session,
        caller,
        "user.password_reset",
        "user",
        user.id,
        before=before,
        after=audit.snapshot(user),
    )


async def change_own_password(
    session: AsyncSession, user: User, body: PasswordChange, settings: Settings
) -> None:
    ok, _ = await verify_password(user.password_hash, body.current_password)
    if not ok:
        raise FieldValidationError([("current_password", "wrong_password")])
    _check_password(
        body.new_password, settings, user.username, user.full_name, field="new_password"
    )
    before = audit.snapshot(user)
    user.password_hash = await hash_password(body.new_password)
    user.version += 1
    # Other sessions end; the caller signs in again with the new password.
    await revoke_user_tokens(session, user, utcnow())
    await audit.record(
        session,
        user,
        "user.password_change",
        "user",
        user.id,
        before=before,
        after=audit.snapshot(user),
    )

"""Dependencies that routes name in their signatures."""

import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import jwt
from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.config import Settings
from app.core.db import session_scope
from app.core.errors import ForbiddenError, PlanNotFoundError, UnauthorizedError
from app.core.outage import STATE_KEY as OUTAGE_STATE_KEY
from app.core.outage import unavailable_session
from app.core.permissions import Permission, permissions_of
from app.core.security import decode_access_token
from app.models import AuthSession, Plan, User
from app.schemas.common import VIETNAM
from app.services.lineage import Resolver, data_version, load_lineage

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    unavailable = getattr(request.state, OUTAGE_STATE_KEY, None)
    if isinstance(unavailable, Exception):  # the public cache could not reach the database
        async with unavailable_session(unavailable) as session:
            yield session
        return
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async for session in session_scope(factory):
        yield session


async def get_app_settings(request: Request) -> Settings:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a hop per request.
    settings: Settings = request.app.state.settings
    return settings


# scope="function": the transaction commits when the route returns, before the answer is
# sent, so a client never sees success for a write that then fails to commit, and a read
# right after a write's answer sees the write. (FastAPI's default, "request", runs the exit
# code after the response is sent.)
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


# A plan's code as its issuer numbers it: "2358/KH-UBND" (number/symbol), Vietnamese Đ allowed.
PLAN_CODE_PATTERN = r"^[0-9A-Za-zĐđ][0-9A-Za-zĐđ./_-]*$"


_PLANS = "dxplan_plans"  # app.state: {plan code: (data version, plan as read)}


def _pushed_version(request: Request) -> int | None:
    """The data version this process last heard pushed (app.core.data_version), while its
    listener is connected and checked; else None."""
    versions = getattr(request.app.state, "data_version", None)
    if versions is None or not versions.listening:
        return None
    version: int | None = versions.version
    return version


async def get_current_plan(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    plan: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=PLAN_CODE_PATTERN,
            description="The plan to read or write, by its code (number/symbol as issued); "
            "default the plan this service is configured for (`DXPLAN_PLAN_CODE`, "
            "2358/KH-UBND). An unknown plan is 404 `plan_not_found`.",
            examples=["2358/KH-UBND"],
        ),
    ] = None,
) -> Plan:
    """The plan a request is about: `?plan=<code>`, else the configured one. Every route
    that names CurrentPlan takes the parameter and scopes what it reads and writes to it.

    Kept per process while the data version pushed to it stands (a plan is public data: a
    change to it, made only by `dxplan seed`, bumps the version and reaches every process
    as a notification), so a request does not read the plan again; while no version is
    pushed, kept against the version the request reads (one primary-key read, which the
    other caches keyed by it share: app.services.lineage.data_version). Read-only: no route
    changes a plan."""
    code = plan or settings.plan_code
    # Without a listener (the cache of public answers off, or not connected), the version as
    # this request's transaction reads it: one read, shared with the other caches keyed by it.
    version = _pushed_version(request) or await data_version(session)
    cache: dict[str, tuple[object, Plan]] = getattr(request.app.state, _PLANS, None) or {}
    cached = cache.get(code)
    if cached is not None and cached[0] == version:
        return cached[1]
    row = (await session.execute(select(Plan).where(col(Plan.code) == code))).scalar()
    if row is None:
        raise PlanNotFoundError(code)
    # Detached, with every column loaded: a rollback of this session (any error answer)
    # expires what the session holds, and the plan may serve other requests after it.
    session.expunge(row)
    # Read after the version was heard or read: as new as it, or newer.
    setattr(request.app.state, _PLANS, {**cache, code: (version, row)})
    return row


CurrentPlan = Annotated[Plan, Depends(get_current_plan)]


def plan_query(plan: Plan, settings: Settings) -> str:
    """What ends a URL the API hands out about an object of ``plan`` (Location, sync urls,
    download links): ``?plan=<code>`` unless it is the configured plan, which needs none."""
    return "" if plan.code == settings.plan_code else "?" + urlencode({"plan": plan.code})


async def get_plan_query(plan: CurrentPlan, settings: SettingsDep) -> str:
    return plan_query(plan, settings)


PlanQuery = Annotated[str, Depends(get_plan_query)]


async def get_today() -> date:
    """Today in Việt Nam; a dependency so tests can fix the clock."""
    return datetime.now(VIETNAM).date()


Today = Annotated[date, Depends(get_today)]


_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _full_date(value: object) -> object:
    """Only what the contract's `format: date` admits, an RFC 3339 full-date (YYYY-MM-DD).
    Pydantic's lax date parsing alone would also take a Unix timestamp (`0.0` is 1 January
    1970) or a date-time, which the contract refuses. Reported as pydantic's own
    `date_parsing`, so it reads like any other unparsable date."""
    if isinstance(value, str) and not _FULL_DATE.fullmatch(value):
        raise PydanticCustomError(
            "date_parsing", "Input should be a valid date in the format YYYY-MM-DD"
        )
    return value


AS_OF_PATTERN = "^(19[0-9]{2}|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"


async def get_resolver(
    session: SessionDep,
    today: Today,
    as_of: Annotated[
        date | None,
        Query(
            ge=date(1900, 1, 1),
            le=date(2100, 12, 31),
            description="The day `responsible` answers for (YYYY-MM-DD, from 1900-01-01 to "
            "2100-12-31); default today in Việt Nam. The plan's own agencies are shown "
            "whatever the day.",
            examples=["2024-06-01"],
            # The bounds, in the contract: a full-date of a year from 1900 to 2100.
            json_schema_extra={"pattern": AS_OF_PATTERN},
        ),
        BeforeValidator(_full_date),
    ] = None,
) -> Resolver:
    """Who is responsible on the day asked, from the reorganisations graph (cached per
    process against the data version)."""
    return Resolver(await load_lineage(session), as_of or today)


ResponsibleOn = Annotated[Resolver, Depends(get_resolver)]


async def get_current_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    """The signed-in user, reloaded from the database on every request, so that a
    deactivation, a role change or the end of the sign-in (logout, refresh-token replay,
    password change) applies at once on every worker. The token's session (claim ``sid``)
    is checked in the same query that loads the user: one primary-key join, no extra round
    trip. 401 for anything else."""
    if not token:
        raise UnauthorizedError()
    try:
        claims = decode_access_token(token, key=request.app.state.signing_key, settings=settings)
    except jwt.InvalidTokenError as exc:
        raise UnauthorizedError("unauthorized.invalid_token", invalid=True) from exc
    user = (
        await session.execute(
            select(User)
            .join(
                AuthSession,
                and_(
                    col(AuthSession.id) == claims["sid"],
                    col(AuthSession.user_id) == col(User.id),
                    col(AuthSession.revoked_at).is_(None),
                ),
            )
            .where(col(User.id) == int(claims["sub"]))
        )
    ).scalar()
    if user is None or not user.is_active:
        raise UnauthorizedError("unauthorized.invalid_token", invalid=True)
    if user.tokens_valid_after is not None and claims["iat"] < user.tokens_valid_after.timestamp():
        raise UnauthorizedError("unauthorized.invalid_token", invalid=True)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_optional_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User | None:
    """The signed-in user, or None for the public; a bad token is still 401."""
    if not token:
        return None
    return await get_current_user(request, session, settings, token)


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def require(permission: Permission) -> Any:
    """A dependency: the signed-in user, who must hold ``permission`` (else 403)."""

    async def dependency(user: CurrentUser) -> User:
        if permission not in permissions_of(user.role):
            raise ForbiddenError()
        return user

    return Depends(dependency)

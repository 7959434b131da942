"""Sign-in, refresh rotation with reuse detection, logout, and brute-force throttling.

A rejected sign-in or a detected refresh reuse must leave its trace even though the request
fails, so these functions commit that trace themselves before raising; everything else only
flushes and leaves the commit to the request.
"""

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.config import Settings
from app.core.errors import InvalidGrantError, TooManyRequestsError, UnauthorizedError
from app.core.security import issue_access_token, new_refresh_token, token_digest, verify_password
from app.models import Agency, LoginThrottle, RefreshToken, User
from app.schemas.auth import TokenPair
from app.services import audit


def utcnow() -> datetime:
    return datetime.now(UTC)


def throttle_keys(username: str, address: str | None) -> tuple[str, str]:
    return f"user:{username}", f"addr:{address or 'unknown'}"


async def _check_lockout(session: AsyncSession, keys: tuple[str, str], now: datetime) -> None:
    locked = (
        await session.execute(
            select(func.max(LoginThrottle.locked_until)).where(
                col(LoginThrottle.key).in_(keys), col(LoginThrottle.locked_until) > now
            )
        )
    ).scalar()
    if locked is not None:
        raise TooManyRequestsError(max(1, math.ceil((locked - now).total_seconds())))


async def _record_failure(
    session: AsyncSession, key: str, threshold: int, settings: Settings, now: datetime
) -> None:
    """Count one failure atomically (any number of workers); lock the key past threshold."""
    table: Any = LoginThrottle.__table__  # type: ignore[attr-defined]
    window_start = now - timedelta(minutes=settings.login_window_minutes)
    stale = table.c.window_started_at < window_start
    insert = pg_insert(table).values(key=key, failures=1, window_started_at=now)
    failures = (
        await session.execute(
            insert.on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "failures": case((stale, 1), else_=table.c.failures + 1),
                    "window_started_at": case((stale, now), else_=table.c.window_started_at),
                },
            ).returning(table.c.failures)
        )
    ).scalar_one()
    if failures >= threshold:
        doublings = min(failures - threshold, 16)
        seconds = min(
            settings.login_lockout_seconds * 2**doublings, settings.login_lockout_max_seconds
        )
        await session.execute(
            update(LoginThrottle)
            .where(col(LoginThrottle.key) == key)
            .values(locked_until=now + timedelta(seconds=seconds))
        )


async def _issue(
    session: AsyncSession,
    user: User,
    key: str,
    settings: Settings,
    now: datetime,
    family_id: UUID | None = None,
) -> TokenPair:
    agency_code = (
        await session.execute(select(col(Agency.code)).where(col(Agency.id) == user.agency_id))
    ).scalar_one()
    access, expires_in = issue_access_token(
        user_id=user.id or 0,
        role=user.role,
        agency=agency_code,
        key=key,
        settings=settings,
        now=now,
    )
    refresh = new_refresh_token()
    ttl = timedelta(days=settings.refresh_token_days)
    session.add(
        RefreshToken(
            token_hash=token_digest(refresh),
            family_id=family_id or uuid4(),
            user_id=user.id or 0,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return TokenPair(
        access_token=access,
        expires_in=expires_in,
        refresh_token=refresh,
        refresh_expires_in=int(ttl.total_seconds()),
    )


async def sign_in(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    address: str | None,
    key: str,
    settings: Settings,
) -> TokenPair:
    now = utcnow()
    username = username.strip().lower()
    user_key, address_key = throttle_keys(username, address)
    await _check_lockout(session, (user_key, address_key), now)
    user = (await session.execute(select(User).where(col(User.username) == username))).scalar()
    usable = user is not None and user.is_active
    ok, new_hash = await verify_password(user.password_hash if usable and user else None, password)
    if not ok or user is None:
        await _record_failure(
            session, user_key, settings.login_max_failures_per_user, settings, now
        )
        await _record_failure(
            session, address_key, settings.login_max_failures_per_address, settings, now
        )
        await audit.record(
            session,
            None,
            "auth.sign_in_failed",
            "user",
            user.id if user else username,
            after={"address": address},
        )
        await session.commit()
        raise InvalidGrantError()
    # Success clears this account's count; the address keeps its own, so one valid account
    # cannot be used to reset the counter of an address that guesses at others.
    await session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == user_key))
    if new_hash is not None:
        user.password_hash = new_hash
    user.last_login_at = now
    await audit.record(session, user, "auth.sign_in", "user", user.id, after={"address": address})
    return await _issue(session, user, key, settings, now)


async def revoke_family(session: AsyncSession, family_id: UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )


async def revoke_user_tokens(session: AsyncSession, user: User, now: datetime) -> None:
    """Revoke every refresh token of the user and refuse access tokens issued until now."""
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user.id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    user.tokens_valid_after = now


async def refresh(session: AsyncSession, *, token: str, key: str, settings: Settings) -> TokenPair:
    now = utcnow()
    stored = (
        await session.execute(
            select(RefreshToken)
            .where(col(RefreshToken.token_hash) == token_digest(token))
            .with_for_update()
        )
    ).scalar()
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise UnauthorizedError("unauthorized.invalid_refresh", invalid=True)
    if stored.used_at is not None:
        # A used token presented again: stolen or replayed. End the whole family.
        await revoke_family(session, stored.family_id, now)
        await audit.record(
            session,
            None,
            "auth.refresh_reused",
            "user",
            stored.user_id,
            after={"family": str(stored.family_id)},
        )
        await session.commit()
        raise UnauthorizedError("unauthorized.refresh_reused", invalid=True)
    stored.used_at = now
    user = await session.get(User, stored.user_id)
    if user is None or not user.is_active:
        await revoke_family(session, stored.family_id, now)
        await session.commit()
        raise UnauthorizedError("unauthorized.invalid_refresh", invalid=True)
    return await _issue(session, user, key, settings, now, family_id=stored.family_id)


async def sign_out(session: AsyncSession, *, token: str) -> None:
    """Revoke the token's family; unknown tokens are ignored, so the answer leaks nothing."""
    family = (
        await session.execute(
            select(col(RefreshToken.family_id)).where(
                col(RefreshToken.token_hash) == token_digest(token)
            )
        )
    ).scalar()
    if family is not None:
        await revoke_family(session, family, utcnow())
        await audit.record(session, None, "auth.sign_out", "refresh_family", family)

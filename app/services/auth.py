"""Sign-in, refresh rotation with reuse detection, sign-out and token revocation, and
brute-force throttling.

A rejected sign-in or a detected refresh reuse must leave its trace even though the request
fails, so these functions commit that trace themselves before raising; everything else only
flushes and leaves the commit to the request.
"""

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from ipaddress import IPv6Address, ip_network
from typing import Any
from uuid import UUID, uuid4

import jwt
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.config import Settings
from app.core.errors import (
    AgencyEndedError,
    AgencyEndedUnauthorizedError,
    AppError,
    InvalidGrantError,
    TooManyRequestsError,
    UnauthorizedError,
)
from app.core.proxies import parse_address
from app.core.security import (
    decode_access_token,
    issue_access_token,
    new_refresh_token,
    token_digest,
    verify_password,
)
from app.models import Agency, AuthSession, LoginThrottle, RefreshToken, User
from app.schemas.auth import TokenPair
from app.services import audit
from app.services.ended_agencies import Ended, ended_agency_of, today_in_vietnam


def utcnow() -> datetime:
    return datetime.now(UTC)


def throttle_keys(username: str, address: str | None) -> tuple[str, str]:
    """The two counters a sign-in attempt counts against. An IPv6 client is counted by its
    /64, the block one subscriber is given, so rotating addresses within it gains nothing."""
    # Usernames are at most 64 characters; a longer one names no account and still counts.
    user_key = f"user:{username[:100]}"
    parsed = parse_address(address) if address else None
    if isinstance(parsed, IPv6Address):
        return user_key, f"addr:{ip_network(f'{parsed}/64', strict=False)}"
    return user_key, f"addr:{parsed if parsed is not None else address or 'unknown'}"


def _backoff(failures: int, threshold: int, settings: Settings) -> timedelta:
    doublings = min(failures - threshold, 16)
    seconds = min(settings.login_lockout_seconds * 2**doublings, settings.login_lockout_max_seconds)
    return timedelta(seconds=seconds)


Reservation = dict[str, tuple[datetime | None, datetime | None]]


async def _reserve_attempt(
    session: AsyncSession, limits: dict[str, int], settings: Settings, now: datetime
) -> Reservation:
    """Count this attempt as a failure on every key *before* the password is looked at,
    committed at once, or refuse it (429) without counting when any key is locked.

    Invariant: at most ``limit`` attempts per key are ever evaluated in a window, however
    many arrive at once on however many workers. The rows are locked in key order, so two
    attempts cannot both take the last slot, and the attempt that reaches the limit locks the
    key for the back-off as it is granted (before it is evaluated), so none can follow it in
    flight. A success gives its reservation back (``_give_back``); a failure keeps it.

    Returns, per key, the lock before and after this attempt, for ``_give_back``.
    """
    table: Any = LoginThrottle.__table__  # type: ignore[attr-defined]
    keys = sorted(limits)
    rows: Sequence[LoginThrottle] = []
    for _ in range(3):  # a row deleted by a concurrent success is created again
        await session.execute(
            pg_insert(table)
            .values([{"key": key, "failures": 0, "window_started_at": now} for key in keys])
            .on_conflict_do_nothing(index_elements=["key"])
        )
        rows = (
            (
                await session.execute(
                    select(LoginThrottle)
                    .where(col(LoginThrottle.key).in_(keys))
                    .order_by(col(LoginThrottle.key))
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )
        if len(rows) == len(keys):
            break
        await session.rollback()  # start over holding no lock, or two retries could deadlock
    else:
        raise TooManyRequestsError(1)  # never seen; refuse rather than count nothing
    locks = [row.locked_until for row in rows if row.locked_until and row.locked_until > now]
    if locks:
        await session.rollback()
        raise TooManyRequestsError(max(1, math.ceil((max(locks) - now).total_seconds())))
    window_start = now - timedelta(minutes=settings.login_window_minutes)
    reservation: Reservation = {}
    for row in rows:
        before = row.locked_until
        if row.window_started_at < window_start:
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        if row.failures >= limits[row.key]:
            row.locked_until = now + _backoff(row.failures, limits[row.key], settings)
        reservation[row.key] = (before, row.locked_until)
    await session.commit()
    return reservation


async def _give_back(
    session: AsyncSession, user_key: str, address_key: str, reservation: Reservation
) -> None:
    """After a success: the account's count starts over; the address gets back the attempt
    it reserved (and the lock that attempt set, if still in place) but keeps its other
    failures, so one valid account cannot reset an address that guesses at others."""
    # Rows in key order ("addr:" before "user:"), as _reserve_attempt locks them: no deadlock.
    before, after = reservation[address_key]
    table: Any = LoginThrottle.__table__  # type: ignore[attr-defined]
    await session.execute(
        update(table)
        .where(table.c.key == address_key)
        .values(
            failures=func.greatest(table.c.failures - 1, 0),
            locked_until=case(
                (table.c.locked_until.is_not_distinct_from(after), before),
                else_=table.c.locked_until,
            ),
        )
    )
    await session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == user_key))


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
    if family_id is None:
        # A new sign-in: its session row first (the refresh token's family refers to it).
        family_id = uuid4()
        session.add(AuthSession(id=family_id, user_id=user.id or 0))
        await session.flush()
    access, expires_in = issue_access_token(
        user_id=user.id or 0,
        session_id=family_id,
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
            family_id=family_id,
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
    today: date | None = None,
) -> TokenPair:
    """Every attempt that reaches the password check leaves an ``auth.sign_in_failed`` or
    ``auth.sign_in`` audit row; attempts refused by the throttle (429) are not evaluated.

    The right password of a user whose agency has ended before ``today`` (Việt Nam) is
    refused with ``agency_ended`` when ``settings.refuse_ended_agencies``: audited as a
    failed sign-in with the reason, but not counted as a guess (the password was right)."""
    now = utcnow()
    username = username.strip().lower()
    user_key, address_key = throttle_keys(username, address)
    limits = {
        user_key: settings.login_max_failures_per_user,
        address_key: settings.login_max_failures_per_address,
    }
    reservation = await _reserve_attempt(session, limits, settings, now)
    user = (await session.execute(select(User).where(col(User.username) == username))).scalar()
    usable = user is not None and user.is_active
    ok, new_hash = await verify_password(user.password_hash if usable and user else None, password)
    if not ok or user is None:
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
    await _give_back(session, user_key, address_key, reservation)
    found = await ended_agency_of(session, user.agency_id, today or today_in_vietnam(), settings)
    if found is not None:
        await audit.record(
            session,
            None,
            "auth.sign_in_failed",
            "user",
            user.id,
            after={"address": address, "reason": "agency_ended", "agency": found.agency.code},
        )
        await session.commit()
        raise _agency_ended(found, oauth2=True)
    if new_hash is not None:
        user.password_hash = new_hash
    user.last_login_at = now
    await audit.record(session, user, "auth.sign_in", "user", user.id, after={"address": address})
    return await _issue(session, user, key, settings, now)


async def revoke_family(session: AsyncSession, family_id: UUID, now: datetime) -> None:
    """End one sign-in: its refresh tokens and, through its session row, its access tokens."""
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    await session.execute(
        update(AuthSession)
        .where(col(AuthSession.id) == family_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )


async def revoke_user_tokens(session: AsyncSession, user: User, now: datetime) -> None:
    """End every sign-in of the user (password change or reset, deactivation): all refresh
    tokens, and all access tokens through their sessions and ``tokens_valid_after``."""
    await session.execute(
        update(AuthSession)
        .where(col(AuthSession.user_id) == user.id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user.id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    user.tokens_valid_after = now


def _agency_ended(found: Ended, oauth2: bool) -> AppError:
    """The refusal of a user whose agency has ended: 400 at the token endpoint, 401 at
    `/auth/refresh`, both with the code `agency_ended` naming the agency's successors."""
    key = "agency_ended.detail" if found.successors else "agency_ended.no_successor"
    if oauth2:
        return AgencyEndedError(key, **found.params)
    return AgencyEndedUnauthorizedError(key, **found.params)


def _refused(detail_key: str, oauth2: bool) -> AppError:
    """The refusal of a refresh token: RFC 6749's 400 `invalid_grant` at the token endpoint,
    401 at `/auth/refresh` (as that door has always answered)."""
    if oauth2:
        return InvalidGrantError(detail_key)
    return UnauthorizedError(detail_key, invalid=True)


async def refresh(
    session: AsyncSession,
    *,
    token: str,
    key: str,
    settings: Settings,
    oauth2: bool = False,
    today: date | None = None,
) -> TokenPair:
    """Rotate a refresh token; the same rules at both doors (`grant_type=refresh_token` at
    `/auth/token` with ``oauth2``, `/auth/refresh` without), only the refusal differs.

    A user whose agency has ended before ``today`` (with ``settings.refuse_ended_agencies``)
    is refused with ``agency_ended`` and the sign-in ends, audited as
    ``auth.refresh_refused``."""
    now = utcnow()
    stored = (
        await session.execute(
            select(RefreshToken)
            .where(col(RefreshToken.token_hash) == token_digest(token))
            .with_for_update()
        )
    ).scalar()
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise _refused("unauthorized.invalid_refresh", oauth2)
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
        raise _refused("unauthorized.refresh_reused", oauth2)
    stored.used_at = now
    user = await session.get(User, stored.user_id)
    # The session row decides, not the token's own revoked_at: a rotation that raced with
    # the family's revocation may have left a token the revocation did not see.
    revoked = (
        await session.execute(
            select(col(AuthSession.revoked_at)).where(col(AuthSession.id) == stored.family_id)
        )
    ).scalar()
    if user is None or not user.is_active or revoked is not None:
        await revoke_family(session, stored.family_id, now)
        await session.commit()
        raise _refused("unauthorized.invalid_refresh", oauth2)
    found = await ended_agency_of(session, user.agency_id, today or today_in_vietnam(), settings)
    if found is not None:
        await revoke_family(session, stored.family_id, now)
        await audit.record(
            session,
            None,
            "auth.refresh_refused",
            "user",
            user.id,
            after={
                "family": str(stored.family_id),
                "reason": "agency_ended",
                "agency": found.agency.code,
            },
        )
        await session.commit()
        raise _agency_ended(found, oauth2)
    return await _issue(session, user, key, settings, now, family_id=stored.family_id)


async def sign_out(session: AsyncSession, *, token: str) -> None:
    """Revoke the refresh token's family; unknown tokens are ignored, so the answer leaks
    nothing."""
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


def access_token_session(token: str, *, key: str, settings: Settings) -> tuple[int, UUID] | None:
    """(user id, sign-in id) of a valid access token (signature, issuer, audience, times);
    None for anything else. An expired access token is useless already: to end its sign-in
    later, revoke the refresh token."""
    try:
        claims = decode_access_token(token, key=key, settings=settings)
    except jwt.InvalidTokenError:
        return None
    sid: UUID = claims["sid"]
    return int(claims["sub"]), sid


async def end_sign_in(session: AsyncSession, *, user_id: int, session_id: UUID) -> None:
    """End the sign-in an access token names (its session and refresh-token family), when
    it belongs to that user; logout without a body and revocation by access token."""
    found = (
        await session.execute(
            select(col(AuthSession.id)).where(
                col(AuthSession.id) == session_id, col(AuthSession.user_id) == user_id
            )
        )
    ).scalar()
    if found is not None:
        await revoke_family(session, session_id, utcnow())
        await audit.record(
            session,
            None,
            "auth.sign_out",
            "refresh_family",
            session_id,
            after={"user": user_id, "by": "access_token"},
        )


async def revoke(session: AsyncSession, *, token: str, key: str, settings: Settings) -> None:
    """RFC 7009 revocation: an access token or a refresh token ends its whole sign-in;
    anything else (unknown, expired, malformed) is ignored, so the answer is the same for
    every token and tells nothing. The token is identified by its form (a signed JWT or an
    opaque refresh token), so `token_type_hint` is not needed to find it."""
    owner = access_token_session(token, key=key, settings=settings)
    if owner is not None:
        await end_sign_in(session, user_id=owner[0], session_id=owner[1])
    else:
        await sign_out(session, token=token)

"""Passwords (Argon2id), access tokens (JWT, HS256, pinned) and refresh tokens (opaque)."""

import asyncio
import hashlib
import logging
import secrets
import time
from contextlib import suppress
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID, uuid4

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.core.config import Settings
from app.core.text import fold

logger = logging.getLogger("app.security")

ALGORITHM = "HS256"
# sid: the sign-in (auth_sessions row) the token belongs to; checked on every request, so
# ending the sign-in ends its access tokens at once. Tokens without it are refused.
REQUIRED_CLAIMS = ("sub", "iss", "aud", "iat", "exp", "jti", "role", "agency", "sid")
MIN_KEY_BYTES = 32

# OWASP's minimum for Argon2id: 19 MiB, two passes, one lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class InsecureConfigurationError(RuntimeError):
    pass


def signing_key(settings: Settings) -> str:
    """The JWT key: from settings, or (outside production) generated once into data_dir."""
    if settings.jwt_secret is not None:
        key = settings.jwt_secret.get_secret_value()
        if len(key.encode()) < MIN_KEY_BYTES:
            if settings.app_env == "production":
                raise InsecureConfigurationError(
                    f"DXPLAN_JWT_SECRET must be at least {MIN_KEY_BYTES} bytes"
                )
            logger.warning("DXPLAN_JWT_SECRET is shorter than %d bytes", MIN_KEY_BYTES)
        return key
    if settings.app_env == "production":
        raise InsecureConfigurationError("DXPLAN_JWT_SECRET is required when APP_ENV=production")
    path = settings.data_dir / "jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
        logger.info("generated a development signing key in %s", path)
    return path.read_text().strip()


# Passwords -------------------------------------------------------------------------------


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


@cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, a new hash when the stored one uses outdated parameters)."""
    if password_hash is None:
        # Unknown user: spend the same time as a real check, then fail.
        with suppress(VerificationError):
            HASHER.verify(_dummy_hash(), password)
        return False, None
    try:
        HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if HASHER.check_needs_rehash(password_hash):
        return True, HASHER.hash(password)
    return True, None


async def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    return await asyncio.to_thread(_verify, password_hash, password)


def password_problems(password: str, *, min_length: int, names: list[str]) -> list[str]:
    """Stable codes of the rules a new password breaks (empty when it is acceptable)."""
    problems = []
    if len(password) < min_length:
        problems.append("password_too_short")
    if len(password) > 256:
        problems.append("password_too_long")
    folded = fold(password).replace(" ", "")
    for name in names:
        for part in [fold(name).replace(" ", ""), *fold(name).split()]:
            if len(part) >= 3 and part in folded:
                problems.append("password_contains_name")
                break
        else:
            continue
        break
    if password and len(set(password)) < 4:
        problems.append("password_too_simple")
    return problems


# Tokens ----------------------------------------------------------------------------------


def issue_access_token(
    *,
    user_id: int,
    session_id: UUID,
    role: str,
    agency: str,
    key: str,
    settings: Settings,
    now: datetime,
) -> tuple[str, int]:
    ttl = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        # Sub-second, so that tokens issued just before a revocation in the same second are
        # told apart from those issued just after (NumericDate may be fractional).
        "iat": now.timestamp(),
        "nbf": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid4().hex,
        "role": role,
        "agency": agency,
        "sid": str(session_id),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), int(ttl.total_seconds())


# Access tokens already verified, by (signing key, issuer, audience, token): a signature
# check and claim validation (about a millisecond of CPU) once per token, not per request.
# Only the token's own lifetime can end its validity, and it is checked again on every hit;
# whether its sign-in still stands is the database's answer (app.deps.get_current_user).
_VERIFIED: dict[tuple[str, str, str, str], dict[str, Any]] = {}
_VERIFIED_MAX = 4096
_LEEWAY = 5  # seconds


def _clock() -> float:
    return time.time()


def decode_access_token(token: str, *, key: str, settings: Settings) -> dict[str, Any]:
    """Verify signature, algorithm, issuer, audience, times and that every claim is there.

    Raises ``jwt.InvalidTokenError`` (or a subclass) for anything wrong.
    """
    known = (key, settings.jwt_issuer, settings.jwt_audience, token)
    claims = _VERIFIED.get(known)
    if claims is not None:
        # PyJWT's own test: expired once `exp` is at or before now less the leeway. The
        # other times only ever pass later (`iat`, `nbf` are not in the future).
        if claims["exp"] <= _clock() - _LEEWAY:
            raise jwt.ExpiredSignatureError("Signature has expired")
        return dict(claims)
    claims = jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        options={"require": list(REQUIRED_CLAIMS), "verify_iat": True},
        leeway=_LEEWAY,
    )
    if not str(claims["sub"]).isdigit() or int(claims["sub"]) >= 2**31:
        raise jwt.InvalidTokenError("sub is not a user id")
    try:
        claims["sid"] = UUID(str(claims["sid"]))
    except ValueError as exc:
        raise jwt.InvalidTokenError("sid is not a session id") from exc
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[known] = claims
    return dict(claims)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

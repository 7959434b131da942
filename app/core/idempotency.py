"""Idempotency-Key on every POST, kept in PostgreSQL so it holds across processes.

One mechanism for the whole API, installed at app assembly (``install_idempotency``): every
POST route gets a first dependency (``Idempotency-Key`` in the contract, one description)
and a route handler that wraps the endpoint, so no router has to remember it and a new POST
is covered as soon as it is included.

- Lock: before anything else, the route handler takes a session-level advisory lock on
  (scope, key) on a connection of its own, released only after the request's transaction
  has ended (a callback on FastAPI's function-scoped exit stack, which runs after the
  session's). A concurrent request with the same key waits there for the first to finish,
  then finds its answer, or does the work itself if the first kept none. The lock spans
  the whole request, also the routes that commit partway (an upload commits its check
  before the file streams in, sign-in commits its throttle count).
- Claim: the key row is inserted in the request's own transaction (the session the
  endpoint uses). Holding the lock, a row found without an answer is one whose request
  ended without storing it (it failed after an early commit, or its process died): it is
  taken over, never answered with 422.
- Store: after the endpoint has built its answer, and before the transaction commits, the
  answer (status, body bytes, headers: ETag, Location, Content-Type...) is written to the
  row. A key row is therefore never committed without its answer, and an answer is never
  kept for work that did not commit. An error (raised, 4xx/5xx) is not kept: the key is
  free again for a retry (a row an early commit left behind is deleted when the lock is
  released). If an early rollback dropped the claim (the sign-in throttle's retry), the
  answer is inserted afresh.
- Replay: a repeat with the same request (method, path, query, body) gets the stored answer
  with ``Idempotent-Replayed: true`` and does nothing else; another request under the same
  key is 422 ``idempotency_key_reused``.

Keys are scoped by caller: ``user:<id>`` from a valid access token (signature, issuer,
audience and lifetime; not whether its sign-in has ended since, so a password change whose
answer was lost can still be replayed to the same user), else ``anon`` (sign-in, refresh).
The request is kept as an HMAC under a key derived from the JWT signing key (a form body
holds a password: a plain hash would be a password hash open to guessing), and the answer
body sealed with AES-GCM under another derived key, bound to its scope and key: the table
never holds a usable token. Answers of the ``auth`` routes are kept for
``DXPLAN_IDEMPOTENCY_AUTH_TTL_SECONDS`` (5 minutes), others for
``DXPLAN_IDEMPOTENCY_TTL_SECONDS`` (a day); an expired key is forgotten, and every
``PURGE_EVERY``-th new key deletes a batch of expired rows (SKIP LOCKED: it never waits).
"""

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from secrets import token_bytes
from typing import Annotated, Any

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import Table, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlmodel import col
from starlette.routing import BaseRoute

from app.core.config import Settings
from app.core.errors import AppError
from app.core.idempotency_body import IdempotencyBodyMiddleware, body_digest
from app.core.openapi import problems
from app.core.security import decode_access_token
from app.models import IdempotencyKey, User

logger = logging.getLogger(__name__)

DESCRIPTION = (
    "Makes the POST safe to retry (any unique string, e.g. a UUID, up to 200 characters). "
    "A repeat by the same caller with the same method, path and body gets the first answer "
    "again (status, body, ETag, Location) with `Idempotent-Replayed: true`, and changes "
    "nothing; concurrent repeats wait for the first and make one effect. The same key with "
    "another request is 422 `idempotency_key_reused`. A failed request (an error answer) "
    "keeps nothing: retrying it does the work. Keys are kept a day (sign-in and refresh: 5 "
    "minutes), in the database, so they hold across servers."
)

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, description=DESCRIPTION),
]
REPLAYED = "Idempotent-Replayed"
CLAIM_KEY = "dxplan.idempotency.claim"
PURGE_EVERY = 100
PURGE_BATCH = 500
AUTH_TAG = "auth"
LOCK_NAMESPACE = 0x49_44_45_4D  # "IDEM": the first half of the (scope, key) advisory lock
# Not part of a stored answer: recomputed for the replay, or about one connection.
_UNSTORED_HEADERS = {"content-length", "connection", "transfer-encoding", "date", "server"}
_TABLE: Table = IdempotencyKey.__table__  # type: ignore[attr-defined]


class IdempotencyKeyReusedError(AppError):
    status = 422
    code = "idempotency_key_reused"
    detail_key = "idempotency_key_reused.detail"


class IdempotencyAnswerUnavailableError(AppError):
    """The first answer is stored but cannot be read (the signing key changed since)."""

    status = 409
    code = "idempotency_answer_unavailable"
    detail_key = "idempotency_answer_unavailable.detail"


class IdempotencyKeyInUseError(AppError):
    """A request under this key is still running after the wait (a slow upload, say)."""

    status = 409
    code = "idempotency_key_in_use"
    detail_key = "idempotency_key_in_use.detail"


class _ReplayError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("idempotent replay")
        self.response = response


@cache
def _derived(signing_key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        signing_key.encode()
    )


def _request_hash(request: Request, body: bytes, signing_key: str) -> str:
    message = b"\x00".join(
        [
            request.method.encode(),
            request.url.path.encode(),
            request.url.query.encode(),
            body,
        ]
    )
    key = _derived(signing_key, b"dxplan idempotency request v1")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def seal(plain: bytes, *, scope: str, key: str, signing_key: str) -> bytes:
    nonce = token_bytes(12)
    aead = AESGCM(_derived(signing_key, b"dxplan idempotency answer v1"))
    return nonce + aead.encrypt(nonce, plain, f"{scope}\x00{key}".encode())


def unseal(sealed: bytes, *, scope: str, key: str, signing_key: str) -> bytes:
    aead = AESGCM(_derived(signing_key, b"dxplan idempotency answer v1"))
    return aead.decrypt(sealed[:12], sealed[12:], f"{scope}\x00{key}".encode())


def caller_scope(request: Request, settings: Settings, signing_key: str) -> tuple[str, int | None]:
    """``user:<id>`` for a valid access token, else ``anon``. Whether the token's sign-in is
    still open is the endpoint's check, for any work it does."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            claims = decode_access_token(token.strip(), key=signing_key, settings=settings)
        except jwt.InvalidTokenError:
            return "anon", None
        user_id = int(claims["sub"])
        return f"user:{user_id}", user_id
    return "anon", None


@dataclass
class _Claim:
    row_id: int
    session: AsyncSession
    scope: str
    key: str
    values: dict[str, Any]  # the claim's insert, again if an early rollback dropped it

    async def store(self, request: Request, response: Response) -> None:
        body = getattr(response, "body", None)
        if response.status_code >= 400 or not isinstance(body, bytes):
            if response.status_code < 400:
                logger.warning("a streamed answer cannot be kept for Idempotency-Key")
            await self.session.execute(delete(_TABLE).where(_TABLE.c.id == self.row_id))
            return
        signing_key: str = request.app.state.signing_key
        digest = body_digest(request.scope)
        body_hash = await digest.finish(request) if digest is not None else b""
        headers = [
            [name, value]
            for name, value in response.headers.items()
            if name.lower() not in _UNSTORED_HEADERS
        ]
        answer = {
            "request_hash": _request_hash(request, body_hash, signing_key),
            "status_code": response.status_code,
            "response_body": seal(body, scope=self.scope, key=self.key, signing_key=signing_key),
            "response_headers": headers,
            "sealed": True,
        }
        updated = await self.session.execute(
            update(_TABLE).where(_TABLE.c.id == self.row_id).values(**answer)
        )
        if not getattr(updated, "rowcount", 0):  # the claim was rolled back by the endpoint
            await self.session.execute(
                pg_insert(_TABLE)
                .values(**{**self.values, **answer})
                .on_conflict_do_nothing(index_elements=["scope", "key"])
            )


def _replayed(row: Any, signing_key: str) -> Response:
    body: bytes = row.response_body or b""
    if row.sealed:
        try:
            body = unseal(body, scope=row.scope, key=row.key, signing_key=signing_key)
        except InvalidTag as exc:
            raise IdempotencyAnswerUnavailableError() from exc
    stored = row.response_headers
    pairs = list(stored.items()) if isinstance(stored, dict) else [tuple(p) for p in stored]
    response = Response(content=body, status_code=row.status_code)
    for name, value in pairs:
        response.headers.append(name, value)
    if "content-type" not in response.headers and body:
        response.headers["Content-Type"] = "application/json"  # rows kept by older code
    response.headers[REPLAYED] = "true"
    return response


async def purge_expired(session: AsyncSession, limit: int = PURGE_BATCH) -> int:
    """Delete up to ``limit`` expired keys, skipping rows another transaction holds."""
    doomed = (
        select(_TABLE.c.id)
        .where(_TABLE.c.expires_at < func.now())
        .order_by(_TABLE.c.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(delete(_TABLE).where(_TABLE.c.id.in_(doomed.scalar_subquery())))
    return int(getattr(result, "rowcount", 0) or 0)


async def claim_key(
    request: Request, session: AsyncSession, key: str | None, *, sensitive: bool
) -> None:
    """Insert the key row, or replay (raise _ReplayError) or refuse the repeat. See the module."""
    if key is None:
        return
    settings: Settings = request.app.state.settings
    signing_key: str = request.app.state.signing_key
    scope, user_id = caller_scope(request, settings, signing_key)
    ttl = settings.idempotency_auth_ttl_seconds if sensitive else settings.idempotency_ttl_seconds
    owner = (
        select(col(User.id)).where(col(User.id) == user_id).scalar_subquery()
        if user_id is not None
        else None
    )
    values: dict[str, Any] = {
        "scope": scope,
        "user_id": owner,
        "key": key,
        "method": request.method,
        "path": request.url.path[:500],
        "request_hash": "",
        "response_headers": [],
        "sealed": True,
        "expires_at": func.now() + timedelta(seconds=ttl),
    }
    for _ in range(3):  # an expired or unanswered row is deleted and the insert tried again
        inserted = (
            await session.execute(
                pg_insert(_TABLE)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["scope", "key"])
                .returning(_TABLE.c.id)
            )
        ).scalar()
        if inserted is not None:
            request.scope[CLAIM_KEY] = _Claim(inserted, session, scope, key, values)
            if inserted % PURGE_EVERY == 0:
                await purge_expired(session)
            return
        row = (
            await session.execute(
                select(_TABLE).where(_TABLE.c.scope == scope, _TABLE.c.key == key)
            )
        ).first()
        if row is None:  # deleted (expired) by another request meanwhile
            continue
        if row.expires_at <= datetime.now(UTC):
            await session.execute(
                delete(_TABLE).where(_TABLE.c.id == row.id, _TABLE.c.expires_at <= func.now())
            )
            continue
        if row.status_code is None:  # its request ended unanswered: we hold the key's lock
            await session.execute(
                delete(_TABLE).where(_TABLE.c.id == row.id, _TABLE.c.status_code.is_(None))
            )
            continue
        digest = body_digest(request.scope)
        body_hash = await digest.finish(request) if digest is not None else b""
        mine = _request_hash(request, body_hash, signing_key)
        if not hmac.compare_digest(row.request_hash, mine):
            raise IdempotencyKeyReusedError()
        raise _ReplayError(_replayed(row, signing_key))
    raise IdempotencyKeyReusedError()


def _guard(sensitive: bool) -> Any:
    from app.deps import SessionDep  # app.deps builds on app.core

    async def idempotency_key(
        request: Request, session: SessionDep, key: IdempotencyKeyHeader = None
    ) -> None:
        await claim_key(request, session, key, sensitive=sensitive)

    return Depends(idempotency_key)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _lock_id(scope: str, key: str) -> int:
    digest = hashlib.sha256(f"{scope}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


async def _release(connection: AsyncConnection, scope: str, key: str, lock_id: int) -> None:
    """Forget an unanswered row (the request's transaction has ended: an early commit left
    it behind, the request then failed), then unlock. If that fails, the connection is
    dropped rather than returned to the pool still holding the lock."""
    try:
        await connection.execute(
            delete(_TABLE).where(
                _TABLE.c.scope == scope, _TABLE.c.key == key, _TABLE.c.status_code.is_(None)
            )
        )
        await connection.execute(
            text("SELECT pg_advisory_unlock(:ns, :id)"), {"ns": LOCK_NAMESPACE, "id": lock_id}
        )
        await connection.commit()
        await connection.close()
    except BaseException:
        await connection.invalidate()
        await connection.close()
        raise


async def _try_lock(engine: AsyncEngine, lock_id: int) -> AsyncConnection | None:
    connection = await engine.connect()
    try:
        taken = (
            await connection.execute(
                text("SELECT pg_try_advisory_lock(:ns, :id)"),
                {"ns": LOCK_NAMESPACE, "id": lock_id},
            )
        ).scalar()
        await connection.commit()  # session-level: held without an open transaction
    except BaseException:
        await connection.invalidate()
        await connection.close()
        raise
    if taken:
        return connection
    await connection.close()
    return None


async def _hold_key_lock(request: Request, key: str) -> None:
    """Take the (scope, key) lock on a connection of its own; release it when the
    function-scoped exit stack closes, after the request's session has committed or rolled
    back (callbacks run in reverse order, and this one is pushed before any dependency).

    A duplicate polls for the lock rather than blocking on it, holding no connection while
    it waits: twenty duplicates blocked on pooled connections would starve the first of the
    connection its own work needs. It waits up to ``DXPLAN_DB_COMMAND_TIMEOUT_SECONDS``,
    then answers 409 ``idempotency_key_in_use``."""
    settings: Settings = request.app.state.settings
    scope, _ = caller_scope(request, settings, request.app.state.signing_key)
    lock_id = _lock_id(scope, key)
    engine: AsyncEngine = request.app.state.engine
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.db_command_timeout_seconds
    pause = 0.01
    while (connection := await _try_lock(engine, lock_id)) is None:
        if loop.time() >= deadline:
            raise IdempotencyKeyInUseError()
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.2)

    async def release() -> None:
        # Shielded: a client that goes away must not leave the lock on a pooled connection.
        await asyncio.shield(_release(connection, scope, key, lock_id))

    request.scope["fastapi_function_astack"].push_async_callback(release)


class IdempotentRoute(APIRoute):
    """A POST route whose handler replays a stored answer and stores a new one. It runs
    inside FastAPI's function-scoped exit stack, so the request's session has not
    committed yet when the answer is stored."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def app(request: Request) -> Response:
            key = request.headers.get("idempotency-key")
            if key and len(key) <= 200:  # else the header's own check refuses it
                await _hold_key_lock(request, key)
            try:
                response = await handler(request)
            except _ReplayError as replay:
                return replay.response
            claim = request.scope.pop(CLAIM_KEY, None)
            if isinstance(claim, _Claim):
                await claim.store(request, response)
            return response

        return app


def _api_routes(routes: list[BaseRoute]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        inner = getattr(route, "original_router", None)  # an included router, kept nested
        if isinstance(inner, APIRouter):
            found.extend(_api_routes(inner.routes))
    return found


def make_idempotent(route: APIRoute) -> None:
    if isinstance(route, IdempotentRoute):
        return
    if type(route) is not APIRoute:
        raise TypeError(f"{route.path}: cannot add Idempotency-Key to {type(route).__name__}")
    route.dependencies.insert(0, _guard(sensitive=AUTH_TAG in route.tags))
    # The key's own answers: 422 reused (or a malformed header), 409 answer unavailable.
    for status, documented in problems(409, 422).items():
        route.responses.setdefault(status, documented)
    route.__class__ = IdempotentRoute


def install_idempotency(app: FastAPI) -> None:
    """Cover every POST of ``app``. Call once its routers are included and before anything
    walks its routes (included routers build their routes' handlers on first use)."""
    for route in _api_routes(app.routes):
        if "POST" in (route.methods or ()):
            make_idempotent(route)
    app.add_middleware(IdempotencyBodyMiddleware)


# Compatibility: routes written before the generic layer call this; the layer now claims,
# stores and replays the key around them, so this only renders the answer.

"""Idempotency-Key on every POST, kept in PostgreSQL so it holds across processes.

One mechanism for the whole API, installed at app assembly (``install_idempotency``): every
POST route gets a first dependency (``Idempotency-Key`` in the contract, one description)
and a route handler that wraps the endpoint, so no router has to remember it and a new POST
is covered as soon as it is included.

- Claim: before the endpoint runs, the key row is inserted in the request's own transaction
  (the session the endpoint uses). A concurrent request with the same key blocks on the
  unique index until the first commits, then finds its answer; if the first failed, its row
  rolled back with it and the waiting request does the work itself.
- Store: after the endpoint has built its answer, and before the transaction commits, the
  answer (status, body bytes, headers: ETag, Location, Content-Type...) is written to the
  row. A key row is therefore never committed without its answer, and an answer is never
  kept for work that did not commit. An error (raised, 4xx/5xx) is not kept: the key is
  free again for a retry.
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
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
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
        await self.session.execute(
            update(_TABLE)
            .where(_TABLE.c.id == self.row_id)
            .values(
                request_hash=_request_hash(request, body_hash, signing_key),
                status_code=response.status_code,
                response_body=seal(body, scope=self.scope, key=self.key, signing_key=signing_key),
                response_headers=headers,
                sealed=True,
            )
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
    for _ in range(3):  # an expired row is deleted and the insert tried again
        inserted = (
            await session.execute(
                pg_insert(_TABLE)
                .values(
                    scope=scope,
                    user_id=owner,
                    key=key,
                    method=request.method,
                    path=request.url.path[:500],
                    request_hash="",
                    response_headers=[],
                    sealed=True,
                    expires_at=func.now() + timedelta(seconds=ttl),
                )
                .on_conflict_do_nothing(index_elements=["scope", "key"])
                .returning(_TABLE.c.id)
            )
        ).scalar()
        if inserted is not None:
            request.scope[CLAIM_KEY] = _Claim(inserted, session, scope, key)
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
        digest = body_digest(request.scope)
        body_hash = await digest.finish(request) if digest is not None else b""
        mine = _request_hash(request, body_hash, signing_key)
        if row.status_code is None or not hmac.compare_digest(row.request_hash, mine):
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


class IdempotentRoute(APIRoute):
    """A POST route whose handler replays a stored answer and stores a new one. It runs
    inside FastAPI's function-scoped exit stack, so the request's session has not
    committed yet when the answer is stored."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def app(request: Request) -> Response:
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

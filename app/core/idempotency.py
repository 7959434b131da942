"""Idempotency-Key for POSTs, kept in PostgreSQL so it holds across processes.

The key row is inserted in the request's own transaction before the work is done. A
concurrent request with the same key blocks on the unique index until the first commits,
then finds the stored answer and replays it; if the first failed, its row rolled back with
it and the retry does the work. The same key with a different request is refused.
"""

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Header, Request, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import AppError
from app.core.json import dumps
from app.models import IdempotencyKey, User

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Makes the POST safe to retry: a repeat returns the first answer.",
    ),
]


class IdempotencyKeyReusedError(AppError):
    status = 422
    code = "idempotency_key_reused"
    detail_key = "idempotency_key_reused.detail"


Produce = Callable[[], Awaitable[tuple[int, BaseModel, dict[str, str]]]]


async def idempotent(
    session: AsyncSession,
    request: Request,
    user: User,
    key: str | None,
    produce: Produce,
) -> Response:
    if key is None:
        status, model, headers = await produce()
        return Response(
            dumps(model.model_dump(mode="json")),
            status_code=status,
            media_type="application/json",
            headers=headers,
        )
    body = await request.body()
    digest = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
    ).hexdigest()
    inserted = (
        await session.execute(
            pg_insert(IdempotencyKey.__table__)  # type: ignore[attr-defined]
            .values(
                user_id=user.id,
                key=key,
                method=request.method,
                path=request.url.path,
                request_hash=digest,
                response_headers={},
            )
            .on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(col(IdempotencyKey.id))
        )
    ).scalar()
    if inserted is None:
        stored = (
            await session.execute(
                select(IdempotencyKey).where(
                    col(IdempotencyKey.user_id) == user.id, col(IdempotencyKey.key) == key
                )
            )
        ).scalar_one()
        if stored.request_hash != digest or stored.status_code is None:
            raise IdempotencyKeyReusedError()
        return Response(
            stored.response_body,
            status_code=stored.status_code,
            media_type="application/json",
            headers={**stored.response_headers, "Idempotent-Replayed": "true"},
        )
    status, model, headers = await produce()
    payload = dumps(model.model_dump(mode="json"))
    row = await session.get(IdempotencyKey, inserted)
    assert row is not None
    row.status_code, row.response_body, row.response_headers = status, payload, headers
    await session.flush()
    return Response(payload, status_code=status, media_type="application/json", headers=headers)

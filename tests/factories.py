"""Small typed factories that write straight to the test database."""

import secrets
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from uuid import UUID, uuid4

import httpx
import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.security import HASHER
from app.core.text import fold
from app.models import Agency, AuthSession, User
from tests.db import TEST_JWT_SECRET

PASSWORD = "Correct-Horse-Battery-7"
RENEW_BEFORE_SECONDS = 120
RENEWED_LIFETIME_SECONDS = 15 * 60


@cache
def password_hash() -> str:
    return HASHER.hash(PASSWORD)


@dataclass
class Account:
    """A test user; `headers` carry its access token, renewed before it expires so that a
    session-wide account never gets a 401 from a slow run (the renewed token keeps the
    sign-in's claims, `iat` and `sid` included, so every revocation still applies to it)."""

    id: int
    username: str
    role: str
    agency: str
    token: str = ""
    claims: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def headers(self) -> dict[str, str]:
        if self.claims and self.claims["exp"] - time.time() < RENEW_BEFORE_SECONDS:
            self.claims = {
                **self.claims,
                "exp": int(time.time()) + RENEWED_LIFETIME_SECONDS,
                "jti": secrets.token_hex(16),
            }
            self.token = jwt.encode(self.claims, TEST_JWT_SECRET, algorithm="HS256")
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


async def create_user(
    factory: async_sessionmaker[AsyncSession],
    *,
    role: str,
    agency: str = "SYT",
    username: str | None = None,
    password_hash_value: str | None = None,
    active: bool = True,
) -> Account:
    username = username or f"{role.replace('_', '')}.{secrets.token_hex(4)}"
    async with factory() as session, session.begin():
        agency_id = (
            await session.execute(select(col(Agency.id)).where(col(Agency.code) == agency))
        ).scalar_one()
        user = User(
            username=username,
            full_name=f"Người thử {username}",
            agency_id=agency_id,
            role=role,
            password_hash=password_hash_value or password_hash(),
            is_active=active,
            search_text=fold(username),
        )
        session.add(user)
        await session.flush()
        return Account(id=user.id or 0, username=username, role=role, agency=agency)


async def create_session(
    factory: async_sessionmaker[AsyncSession], user_id: int
) -> tuple[int, UUID]:
    """A sign-in session row, for tests that mint access tokens themselves (claim sid)."""
    session_id = uuid4()
    async with factory() as session, session.begin():
        session.add(AuthSession(id=session_id, user_id=user_id))
    return user_id, session_id


async def sign_in(
    client: httpx.AsyncClient, account: Account, password: str = PASSWORD
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/token", data={"username": account.username, "password": password}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    account.token = body["access_token"]
    account.claims = jwt.decode(account.token, options={"verify_signature": False})
    return body


async def signed_in(
    client: httpx.AsyncClient, factory: async_sessionmaker[AsyncSession], **kwargs: Any
) -> Account:
    account = await create_user(factory, **kwargs)
    await sign_in(client, account)
    return account

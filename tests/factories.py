"""Small typed factories that write straight to the test database."""

import secrets
from dataclasses import dataclass
from functools import cache
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.security import HASHER
from app.core.text import fold
from app.models import Agency, AuthSession, User

PASSWORD = "Correct-Horse-Battery-7"


@cache
def password_hash() -> str:
    return HASHER.hash(PASSWORD)


@dataclass
class Account:
    id: int
    username: str
    role: str
    agency: str
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
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
    return body


async def signed_in(
    client: httpx.AsyncClient, factory: async_sessionmaker[AsyncSession], **kwargs: Any
) -> Account:
    account = await create_user(factory, **kwargs)
    await sign_in(client, account)
    return account

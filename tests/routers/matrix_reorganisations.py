"""Access matrix entries for reorganisations: public reads, administrators record and correct.

The events written here are dated 2099 and end no agency (BAOHD succeeds itself), so no
other test's `responsible` answer moves."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.models import Agency, Reorganisation, ReorganisationAgency
from tests.factories import Account
from tests.routers.test_access_matrix import Context, Endpoint, admin_only, everyone

BASIS = [{"number": "9/2099/QĐ-TEST", "date": "2098-12-01", "issuer": "UBND", "title": "Thử"}]


def _code() -> str:
    return "T-M-" + uuid.uuid4().hex[:12].upper()


async def create_body(ctx: Context, caller: Account) -> dict[str, Any]:
    return {
        "json": {
            "code": _code(),
            "date": "2099-01-01",
            "kind": "merge",
            "predecessors": ["BAOHD"],
            "successors": ["BAOHD"],
            "legal_basis": BASIS,
            "verified": True,
        }
    }


async def event(ctx: Context, caller: Account) -> dict[str, Any]:
    code = _code()
    async with ctx.sessionmaker() as session, session.begin():
        row = Reorganisation(
            code=code,
            date=date(2099, 1, 1),
            kind="merge",
            legal_basis=BASIS,
            verified=True,
            origin="api",
        )
        session.add(row)
        await session.flush()
        agency_id = (
            await session.execute(select(col(Agency.id)).where(col(Agency.code) == "BAOHD"))
        ).scalar_one()
        for role in ("predecessor", "successor"):
            session.add(ReorganisationAgency(event_id=row.id or 0, agency_id=agency_id, role=role))
        await session.flush()
        event_id = row.id
    return {
        "id": code,
        "headers": {"If-Match": f'"reorganisation-{event_id}-v1"'},
        "json": {"notes": "Đã đối chiếu."},
    }


ENDPOINTS = [
    Endpoint("GET", "/api/v1/reorganisations", everyone(200)),
    Endpoint(
        "GET",
        "/api/v1/reorganisations/{code}",
        everyone(200),
        url="/api/v1/reorganisations/HP-2025-07-CITY",
    ),
    Endpoint("POST", "/api/v1/reorganisations", admin_only(201), prepare=create_body),
    Endpoint(
        "PATCH",
        "/api/v1/reorganisations/{code}",
        admin_only(200),
        url="/api/v1/reorganisations/{id}",
        prepare=event,
    ),
]

"""Agency queries: who they are and every plan item they lead or coordinate."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.core.errors import NotFoundError
from app.core.pagination import SortKey
from app.models import (
    Agency,
    AgencyGroupMember,
    Document,
    DocumentAgency,
    Indicator,
    IndicatorAgency,
    Plan,
    Section,
    SectionAgency,
    Task,
    TaskAgency,
)
from app.schemas.agencies import AgencyItemLink, AgencyPage, AgencyRead, AgencySummary
from app.services.common import agency_ref, fetch_page, search_clause

ParentAgency = aliased(Agency, name="parent_agency")
Successor = aliased(Agency, name="successor_agency")
Via = aliased(Agency, name="via_agency")


def _base() -> Any:
    return (
        select(Agency, col(ParentAgency.code), col(Successor.code))
        .outerjoin(ParentAgency, col(ParentAgency.id) == col(Agency.parent_id))
        .outerjoin(Successor, col(Successor.id) == col(Agency.successor_id))
    )


def _summary(row: Any) -> dict[str, Any]:
    agency: Agency = row[0]
    return {
        **agency_ref(agency).model_dump(),
        "aliases": agency.aliases,
        "parent": row[1],
        "valid_from": agency.valid_from,
        "valid_to": agency.valid_to,
        "successor": row[2],
    }


async def list_agencies(
    session: AsyncSession, *, kind: str | None, q: str | None, after: SortKey | None, limit: int
) -> AgencyPage:
    stmt = _base()
    if kind is not None:
        stmt = stmt.where(col(Agency.kind) == kind)
    if q is not None and (clause := search_clause(col(Agency.search_text), q)) is not None:
        stmt = stmt.where(clause)
    rows, total, next_cursor = await fetch_page(
        session,
        stmt,
        sort_column=col(Agency.sort_order),
        id_column=col(Agency.id),
        after=after,
        limit=limit,
        list_name="agencies",
    )
    items = [AgencySummary.model_validate(_summary(r)) for r in rows]
    return AgencyPage(items=items, total=total, next_cursor=next_cursor)


async def _item_links(
    session: AsyncSession,
    plan: Plan,
    groups_of: dict[int, list[int]],
    item: Any,
    link: Any,
    owner_column: str,
    title_column: Any,
) -> dict[int, list[AgencyItemLink]]:
    """Per agency (the keys of `groups_of`, each with its groups' ids): items naming the
    agency directly, or through one of its groups (``via``), for all of them in one query."""
    owner = getattr(link, owner_column)
    named = set(groups_of) | {g for ids in groups_of.values() for g in ids}
    rows = (
        await session.execute(
            select(item.code, title_column, link.role, link.agency_id, col(Via.code))
            .join(link, owner == item.id)
            .join(Via, col(Via.id) == link.agency_id)
            .where(item.plan_id == plan.id, link.agency_id.in_(named))
            .order_by(item.sort_order, link.role, col(Via.sort_order))
        )
    ).all()
    return {
        agency_id: [
            AgencyItemLink(code=c, title=t, role=r, via=None if a == agency_id else v)
            for c, t, r, a, v in rows
            if a == agency_id or a in group_ids
        ]
        for agency_id, group_ids in groups_of.items()
    }


async def get_agency(session: AsyncSession, plan: Plan, code: str) -> AgencyRead:
    found = await read_agencies(session, plan, [code])
    if not found:
        raise NotFoundError("agency", code)
    return found[0]


async def _related(
    session: AsyncSession, ids: list[int], *, members: bool
) -> dict[int, list[Agency]]:
    """Per agency: its members (`members`) or the groups it belongs to, in agency order."""
    mine, theirs = (
        (AgencyGroupMember.group_id, AgencyGroupMember.member_id)
        if members
        else (AgencyGroupMember.member_id, AgencyGroupMember.group_id)
    )
    related: dict[int, list[Agency]] = {i: [] for i in ids}
    for agency_id, agency in await session.execute(
        select(col(mine), Agency)
        .join(AgencyGroupMember, col(theirs) == col(Agency.id))
        .where(col(mine).in_(ids))
        .order_by(col(Agency.sort_order))
    ):
        related[agency_id].append(agency)
    return related


async def read_agencies(
    session: AsyncSession, plan: Plan, codes: Sequence[str]
) -> list[AgencyRead]:
    """The agencies of these codes as `GET /agencies/{code}` shows each, in agency order,
    in a fixed number of queries however many (the sync feed reads a page of them); an
    unknown code is left out."""
    rows = (
        await session.execute(
            _base().where(col(Agency.code).in_(list(codes))).order_by(col(Agency.sort_order))
        )
    ).all()
    if not rows:
        return []
    ids = [row[0].id or 0 for row in rows]
    members = await _related(session, ids, members=True)
    groups = await _related(session, ids, members=False)
    groups_of = {i: [g.id or 0 for g in groups[i]] for i in ids}
    links = {
        name: await _item_links(session, plan, groups_of, item, link, owner, title)
        for name, item, link, owner, title in (
            ("sections", Section, SectionAgency, "section_id", col(Section.title)),
            ("tasks", Task, TaskAgency, "task_id", col(Task.title)),
            ("indicators", Indicator, IndicatorAgency, "indicator_id", col(Indicator.text)),
            ("documents", Document, DocumentAgency, "document_id", col(Document.title)),
        )
    }
    out = []
    for row in rows:
        agency: Agency = row[0]
        agency_id = agency.id or 0
        out.append(
            AgencyRead.model_validate(
                {
                    **_summary(row),
                    "note": agency.note,
                    "members": [agency_ref(m) for m in members[agency_id]],
                    "member_of": [agency_ref(g) for g in groups[agency_id]],
                    **{name: by_agency[agency_id] for name, by_agency in links.items()},
                }
            )
        )
    return out

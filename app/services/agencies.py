"""Agency queries: who they are and every plan item they lead or coordinate."""

from typing import Any

from sqlalchemy import case, literal, select
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
    agency_id: int,
    group_ids: list[int],
    item: Any,
    link: Any,
    owner_column: str,
    title_column: Any,
) -> list[AgencyItemLink]:
    """Items naming the agency directly, or through one of its groups (``via``)."""
    owner = getattr(link, owner_column)
    rows = await session.execute(
        select(
            item.code,
            title_column,
            link.role,
            case((link.agency_id == agency_id, literal(None)), else_=col(Via.code)),
        )
        .join(link, owner == item.id)
        .join(Via, col(Via.id) == link.agency_id)
        .where(item.plan_id == plan.id, link.agency_id.in_([agency_id, *group_ids]))
        .order_by(item.sort_order, link.role, col(Via.sort_order))
    )
    return [AgencyItemLink(code=c, title=t, role=r, via=v) for c, t, r, v in rows]


async def get_agency(session: AsyncSession, plan: Plan, code: str) -> AgencyRead:
    row = (await session.execute(_base().where(col(Agency.code) == code))).first()
    if row is None:
        raise NotFoundError("agency", code)
    agency: Agency = row[0]
    agency_id = agency.id or 0
    members = (
        (
            await session.execute(
                select(Agency)
                .join(AgencyGroupMember, col(AgencyGroupMember.member_id) == col(Agency.id))
                .where(col(AgencyGroupMember.group_id) == agency_id)
                .order_by(col(Agency.sort_order))
            )
        )
        .scalars()
        .all()
    )
    groups = (
        (
            await session.execute(
                select(Agency)
                .join(AgencyGroupMember, col(AgencyGroupMember.group_id) == col(Agency.id))
                .where(col(AgencyGroupMember.member_id) == agency_id)
                .order_by(col(Agency.sort_order))
            )
        )
        .scalars()
        .all()
    )
    group_ids = [g.id or 0 for g in groups]
    links = {
        name: await _item_links(session, plan, agency_id, group_ids, item, link, owner, title)
        for name, item, link, owner, title in (
            ("sections", Section, SectionAgency, "section_id", col(Section.title)),
            ("tasks", Task, TaskAgency, "task_id", col(Task.title)),
            ("indicators", Indicator, IndicatorAgency, "indicator_id", col(Indicator.text)),
            ("documents", Document, DocumentAgency, "document_id", col(Document.title)),
        )
    }
    return AgencyRead.model_validate(
        {
            **_summary(row),
            "note": agency.note,
            "members": [agency_ref(m) for m in members],
            "member_of": [agency_ref(g) for g in groups],
            **links,
        }
    )

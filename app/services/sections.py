"""Section queries: the plan body, with the agencies part IV assigns to each item."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.core.errors import NotFoundError, UnknownFilterValueError
from app.core.pagination import SortKey
from app.models import Agency, Plan, Section, SectionAgency, Task
from app.schemas.sections import SectionAgencyRead, SectionPage, SectionRead, SectionSummary
from app.services.common import (
    agency_ref,
    fetch_page,
    load_agency_links,
    refs_by_owner,
    search_clause,
)

ParentSection = aliased(Section, name="parent_section")


def _base(plan: Plan) -> Any:
    return (
        select(Section, col(ParentSection.code))
        .outerjoin(ParentSection, col(ParentSection.id) == col(Section.parent_id))
        .where(col(Section.plan_id) == plan.id)
    )


def _summary(row: Any, lead: list[Any]) -> dict[str, Any]:
    section: Section = row[0]
    return {
        "code": section.code,
        "parent": row[1],
        "level": section.level,
        "number": section.number,
        "title": section.title,
        "lead": lead,
    }


async def list_sections(
    session: AsyncSession,
    plan: Plan,
    *,
    level: int | None,
    parent: str | None,
    q: str | None,
    after: SortKey | None,
    limit: int,
) -> SectionPage:
    stmt = _base(plan)
    if level is not None:
        stmt = stmt.where(col(Section.level) == level)
    if parent is not None:
        parent_id = (
            await session.execute(
                select(col(Section.id)).where(
                    col(Section.plan_id) == plan.id, col(Section.code) == parent
                )
            )
        ).scalar()
        if parent_id is None:
            raise UnknownFilterValueError("parent", parent)
        stmt = stmt.where(col(Section.parent_id) == parent_id)
    if q is not None and (clause := search_clause(col(Section.search_text), q)) is not None:
        stmt = stmt.where(clause)
    rows, total, next_cursor = await fetch_page(
        session,
        stmt,
        sort_column=col(Section.sort_order),
        id_column=col(Section.id),
        after=after,
        limit=limit,
        list_name="sections",
    )
    links = await load_agency_links(session, SectionAgency, "section_id", [r[0].id for r in rows])
    items = [SectionSummary.model_validate(_summary(r, links[r[0].id]["lead"])) for r in rows]
    return SectionPage(items=items, total=total, next_cursor=next_cursor)


async def get_section(session: AsyncSession, plan: Plan, code: str) -> SectionRead:
    found = await read_sections(session, plan, [code])
    if not found:
        raise NotFoundError("section", code)
    return found[0]


async def read_sections(
    session: AsyncSession, plan: Plan, codes: Sequence[str]
) -> list[SectionRead]:
    """The plan's sections of these codes as `GET /sections/{code}` shows each, in plan
    order, in a fixed number of queries however many (the sync feed reads a page of them);
    an unknown code is left out."""
    rows = (
        await session.execute(
            _base(plan).where(col(Section.code).in_(list(codes))).order_by(col(Section.sort_order))
        )
    ).all()
    if not rows:
        return []
    ids = [row[0].id or 0 for row in rows]
    agencies: dict[int, list[SectionAgencyRead]] = {i: [] for i in ids}
    for link, agency in await session.execute(
        select(SectionAgency, Agency)
        .join(Agency, col(Agency.id) == col(SectionAgency.agency_id))
        .where(col(SectionAgency.section_id).in_(ids))
        .order_by(col(SectionAgency.role), col(SectionAgency.position))
    ):
        agencies[link.section_id].append(
            SectionAgencyRead(
                agency=agency_ref(agency),
                role=link.role,
                bullets=link.bullets,
                source=link.source,
                note=link.note,
            )
        )
    children = await refs_by_owner(session, Section, "parent_id", ids)
    tasks = await refs_by_owner(session, Task, "source_section_id", ids)
    out = []
    for row in rows:
        section: Section = row[0]
        section_id = section.id or 0
        lead = [a.agency for a in agencies[section_id] if a.role == "lead"]
        out.append(
            SectionRead.model_validate(
                {
                    **_summary(row, lead),
                    "text": section.text,
                    "bullets": section.bullets,
                    "agencies": agencies[section_id],
                    "lead_note": section.lead_note,
                    "children": children[section_id],
                    "tasks": tasks[section_id],
                }
            )
        )
    return out

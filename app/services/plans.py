"""Plan metadata and counts."""

from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import Agency, Document, Indicator, Plan, Section, Task
from app.schemas.plans import Correction, PlanCounts, PlanRead
from app.schemas.reorganisations import ProvinceSuccession
from app.services.lineage import Resolver


async def _issuer_code(session: AsyncSession, issuer: str) -> str | None:
    """The agency the plan's issuer text names (its name or one of its spellings)."""
    found = (
        await session.execute(
            select(col(Agency.code))
            .where(
                or_(
                    col(Agency.name) == issuer,
                    col(Agency.aliases).contains([issuer]),
                )
            )
            .order_by(col(Agency.sort_order))
        )
    ).scalar()
    return found


async def succession(
    session: AsyncSession, plan: Plan, resolver: Resolver
) -> ProvinceSuccession | None:
    """The issuer and the reviewing department resolved on the resolver's date; ``merged``
    when the issuer no longer exists itself, stated with the events' dates and bases."""
    issuer = await _issuer_code(session, plan.issuer)
    reporting = plan.details.get("reporting") or {}
    reviewer = reporting.get("recipient") if isinstance(reporting, dict) else None
    agencies = resolver.lineage.agencies
    if issuer not in agencies or reviewer not in agencies:
        return None
    resolved = resolver.agency(issuer)
    merged = bool(resolved.path) and issuer not in {a.code for a in resolved.responsible}
    statement = None
    if merged:
        into = ", ".join(a.name for a in resolved.responsible) or "không có cơ quan kế thừa"
        steps = "; ".join(
            f"từ ngày {step.date.strftime('%d/%m/%Y')}"
            + (f" ({', '.join(step.legal_basis)})" if step.legal_basis else "")
            for step in resolved.path
        )
        statement = f"{resolved.agency.name} đã được sắp xếp vào {into} {steps}."
    return ProvinceSuccession(
        as_of=resolver.on,
        issuer=resolved,
        reviewer=resolver.agency(reviewer),
        merged=merged,
        statement=statement,
    )


async def get_plan(session: AsyncSession, plan: Plan, resolver: Resolver | None = None) -> PlanRead:
    def count(model: Any, *conditions: ColumnElement[bool]) -> ScalarSelect[int]:
        stmt = select(func.count()).select_from(model)
        if model is not Agency:
            stmt = stmt.where(model.plan_id == plan.id)
        return stmt.where(*conditions).scalar_subquery()

    counts = (
        await session.execute(
            select(
                count(Section),
                count(Section, col(Section.level) == 3, col(Section.code).startswith("II.")),
                count(Task),
                count(Task, col(Task.parent_id).is_not(None)),
                count(Document),
                count(Agency),
            )
        )
    ).one()
    by_year = (
        await session.execute(
            select(col(Indicator.target_year), func.count())
            .where(col(Indicator.plan_id) == plan.id)
            .group_by(col(Indicator.target_year))
            .order_by(col(Indicator.target_year))
        )
    ).all()
    sections, content_items, tasks, subtasks, documents, agencies = counts
    return PlanRead(
        code=plan.code,
        title=plan.title,
        issuer=plan.issuer,
        issued_on=plan.issued_on,
        start_year=plan.start_year,
        end_year=plan.end_year,
        details=plan.details,
        corrections=[Correction.model_validate(c) for c in plan.corrections],
        succession=await succession(session, plan, resolver) if resolver else None,
        counts=PlanCounts(
            sections=sections,
            content_items=content_items,
            tasks=tasks,
            numbered_tasks=tasks - subtasks,
            subtasks=subtasks,
            indicators=sum(n for _, n in by_year),
            indicators_by_year={str(year): n for year, n in by_year},
            documents=documents,
            agencies=agencies,
        ),
    )

"""Plan metadata and counts."""

from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import Agency, Document, Indicator, Plan, Section, Task
from app.schemas.plans import Correction, PlanCounts, PlanRead


async def get_plan(session: AsyncSession, plan: Plan) -> PlanRead:
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

"""GET /plan: the plan's metadata and counts."""

from fastapi import APIRouter

from app.core.fields import fields_of
from app.core.openapi import problems
from app.deps import CurrentPlan, ResponsibleOn, SessionDep
from app.schemas.plans import PlanRead
from app.services import plans as service

router = APIRouter(prefix="/plan", tags=["plan"])


@router.get(
    "",
    operation_id="plan-get",
    summary="The plan",
    dependencies=[fields_of(PlanRead)],
    responses=problems(404, 422),
)
async def get_plan(session: SessionDep, plan: CurrentPlan, responsible: ResponsibleOn) -> PlanRead:
    """Metadata of plan 2358/KH-UBND (number, date, issuer, budget sources, the annual
    reporting deadline of 1 December), how many items of each kind it holds, and the typing
    slips of the source text that the data corrects. `succession` says what became of the
    issuer and of the reviewing department on `as_of` (default today): the province was
    merged into Hải Phòng city on 1 July 2025 (Resolution 202/2025/QH15)."""
    return await service.get_plan(session, plan, responsible)

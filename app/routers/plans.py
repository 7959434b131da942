"""GET /plan: the plan's metadata and counts."""

from fastapi import APIRouter

from app.core.fields import fields_of
from app.core.openapi import problems
from app.deps import CurrentPlan, SessionDep
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
async def get_plan(session: SessionDep, plan: CurrentPlan) -> PlanRead:
    """Metadata of plan 2358/KH-UBND (number, date, issuer, budget sources, the annual
    reporting deadline of 1 December), how many items of each kind it holds, and the typing
    slips of the source text that the data corrects."""
    return await service.get_plan(session, plan)

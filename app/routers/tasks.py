"""Tasks of Phụ lục 3."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.core.fields import fields_of
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.deps import CurrentPlan, PlanQuery, ResponsibleOn, SessionDep, Today
from app.routers.params import AgencyFilter, SearchQuery
from app.schemas.tasks import TaskPage, TaskProgressPage, TaskRead
from app.services import history
from app.services import tasks as service

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.get(
    "",
    operation_id="tasks-list",
    response_model=TaskPage,
    dependencies=[fields_of(TaskPage)],
    summary="List tasks",
    responses=problems(422),
)
async def list_tasks(
    session: SessionDep,
    plan: CurrentPlan,
    today: Today,
    responsible: ResponsibleOn,
    group: Annotated[
        str | None,
        Query(
            max_length=16,
            description="Group (A-F) or sub-group (A.I … A.VI) code.",
            examples=["A.I"],
        ),
    ] = None,
    agency: AgencyFilter = None,
    year: Annotated[
        int | None,
        Query(
            ge=1900,
            le=2100,
            description="Only tasks whose years include this year.",
            examples=[2022],
        ),
    ] = None,
    q: SearchQuery = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Response:
    """Tasks and B.3's sub-items in plan order. `agency` matches lead or coordinating
    agencies, directly or through a group the agency belongs to (“Các sở, ban, ngành”)."""
    body = await service.list_tasks_json(
        session,
        plan,
        responsible,
        group=group,
        agency=agency,
        year=year,
        q=q,
        after=decode_cursor("tasks", cursor),
        limit=limit,
        today=today,
    )
    return Response(body, media_type="application/json")


@router.get(
    "/{code}",
    operation_id="tasks-get",
    response_model=TaskRead,
    dependencies=[fields_of(TaskRead)],
    summary="Get a task",
    responses=problems(404, 422),
)
async def get_task(
    session: SessionDep,
    plan: CurrentPlan,
    query: PlanQuery,
    today: Today,
    responsible: ResponsibleOn,
    code: Annotated[str, Path(max_length=32, examples=["B.3.1"])],
) -> Response:
    """The task with its latest approved progress, the approved history and the derived
    status (rules in the API description)."""
    body = await service.get_task_json(session, plan, responsible, code, today, query)
    return Response(body, media_type="application/json")


@router.get(
    "/{code}/progress",
    operation_id="tasks-progress",
    dependencies=[fields_of(TaskProgressPage)],
    summary="List a task's approved progress",
    responses=problems(404, 422),
)
async def list_task_progress(
    session: SessionDep,
    plan: CurrentPlan,
    code: Annotated[str, Path(max_length=32, examples=["A.I.1"])],
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> TaskProgressPage:
    """Public. Every approved progress update of the task (only what approval made public),
    newest first by the period's cut-off date, a page at a time: `GET /tasks/{code}` embeds
    only the latest of each reporting year (`progress_history`) and links here
    (`progress_url`). 404 for an unknown task."""
    return await history.list_progress(
        session, plan, code, after=decode_cursor("task-progress", cursor), limit=limit
    )

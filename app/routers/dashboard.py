"""Summaries: the public dashboard and scorecards, period compliance and exports, and an
agency's own assignments."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import select
from sqlmodel import col

from app.core.errors import NotFoundError
from app.core.fields import fields_of
from app.core.openapi import problems
from app.core.permissions import Permission
from app.deps import CurrentPlan, CurrentUser, OptionalUser, SessionDep, Today, require
from app.models import Agency, User
from app.schemas.dashboard import Assignments, Dashboard, PeriodCompliance, Scorecard
from app.services import dashboard as service
from app.services import export, successors
from app.services.periods import get_period

# No router-wide tag: each route has exactly one, the resource it is about.
router = APIRouter()

PeriodId = Annotated[int, Path(ge=1, le=2**31 - 1)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/dashboard",
    operation_id="dashboard-get",
    summary="Plan status at a glance",
    tags=["dashboard"],
    dependencies=[fields_of(Dashboard)],
    responses=problems(422),
)
async def get_dashboard(session: SessionDep, plan: CurrentPlan, today: Today) -> Dashboard:
    """Tasks by derived status per group A-F, indicator targets by attainment per target
    year, this year's reporting compliance per agency, and the last approval time."""
    return await service.dashboard(session, plan, today)


@router.get(
    "/agencies/{code}/scorecard",
    operation_id="agencies-scorecard",
    summary="An agency's scorecard",
    tags=["agencies"],
    dependencies=[fields_of(Scorecard)],
    responses=problems(404, 422),
)
async def scorecard(
    session: SessionDep,
    plan: CurrentPlan,
    today: Today,
    code: Annotated[str, Path(max_length=32, examples=["SYT"])],
) -> Scorecard:
    """The tasks it leads by derived status, the targets of the indicators it leads by
    attainment, and whether it reported on time in each annual period due so far (ad hoc
    requests are not public)."""
    agency = (await session.execute(select(Agency).where(col(Agency.code) == code))).scalar()
    if agency is None:
        raise NotFoundError("agency", code)
    return await service.scorecard(session, plan, agency, today)


@router.get(
    "/periods/{period_id}/compliance",
    operation_id="periods-compliance",
    summary="Who reported, on time or late",
    tags=["periods"],
    dependencies=[fields_of(PeriodCompliance)],
    responses=problems(401, 404, 422),
)
async def compliance(
    session: SessionDep, plan: CurrentPlan, caller: OptionalUser, period_id: PeriodId
) -> PeriodCompliance:
    """Each agency the period asks, with whether its report was first submitted on time, late
    or not yet, and the counts. The token is optional: annual periods are public; an ad hoc
    request is shown only to the agencies it asks and to those who read every agency's
    reports: reviewers, observers and administrators (404 for anyone else)."""
    period = await get_period(session, plan, caller, period_id)
    return await service.period_compliance(session, period)


@router.get(
    "/periods/{period_id}/export.xlsx",
    operation_id="periods-export-xlsx",
    summary="The period's report as an Excel workbook",
    tags=["periods"],
    response_class=Response,
    responses={
        200: {
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
            "description": "The workbook.",
        },
        **problems(401, 403, 404, 422),
    },
)
async def export_xlsx(
    session: SessionDep,
    plan: CurrentPlan,
    period_id: PeriodId,
    caller: Annotated[User, require(Permission.reports_read_all)],
) -> Response:
    """Reviewers, observers and administrators (who read every agency's reports); others
    403. Sheets for tasks, indicators, documents and compliance, with Vietnamese headers;
    submitted and approved reports (drafts left out)."""
    period = await get_period(session, plan, caller, period_id)
    return Response(
        await export.workbook(session, period, caller),
        media_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="{period.code}.xlsx"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/periods/{period_id}/export.csv",
    operation_id="periods-export-csv",
    summary="One sheet of the period's report as CSV",
    tags=["periods"],
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {
                    "example": export.csv_bytes(
                        [
                            [
                                "Sở Y tế",
                                "E.1",
                                "Xây dựng nền tảng số, hoàn thiện và phát triển "
                                "dịch vụ Y tế thông minh",
                                "Đang thực hiện",
                                60,
                                "Đã triển khai hồ sơ sức khỏe điện tử tại 12/12 bệnh viện tuyến "
                                "huyện.",
                                "",
                                "Mở rộng đến 100% trạm y tế xã.",
                                "Đã phê duyệt",
                            ]
                        ],
                        export.HEADERS["tasks"],
                    ).decode("utf-8-sig")
                }
            },
            "description": "UTF-8 with BOM.",
        },
        **problems(401, 403, 404, 422),
    },
)
async def export_csv(
    session: SessionDep,
    plan: CurrentPlan,
    period_id: PeriodId,
    caller: Annotated[User, require(Permission.reports_read_all)],
    sheet: Annotated[Literal["tasks", "indicators", "documents", "compliance"], Query()] = "tasks",
) -> Response:
    """Reviewers, observers and administrators (who read every agency's reports); others
    403. One sheet of the Excel export (`sheet`: tasks, indicators, documents or compliance;
    tasks by default) with the same Vietnamese headers, from the period's submitted and
    approved reports (drafts left out); UTF-8 with a BOM so Excel shows Vietnamese
    correctly, sent as a download."""
    period = await get_period(session, plan, caller, period_id)
    return Response(
        await export.sheet_csv(session, period, caller, sheet),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{period.code}-{sheet}.csv"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/me/assignments",
    operation_id="me-assignments",
    tags=["me"],
    summary="What my agency must report",
    dependencies=[fields_of(Assignments)],
    responses=problems(401, 422),
)
async def my_assignments(
    session: SessionDep, plan: CurrentPlan, user: CurrentUser, today: Today
) -> Assignments:
    """The tasks, indicators and documents my agency leads or coordinates (directly or
    through a group), then those its predecessors lead or coordinate as the reorganisations
    stand today (each with `via_predecessor`), and the open periods asking it, with my
    agency's report state."""
    return await successors.assignments(session, plan, user, today)

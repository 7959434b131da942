"""Public summaries: the dashboard, an agency's scorecard, a period's compliance, and what an
agency is assigned."""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, func, literal, select, text, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.models import (
    Agency,
    AgencyGroupMember,
    Document,
    DocumentAgency,
    Indicator,
    IndicatorAgency,
    IndicatorTarget,
    PeriodAgency,
    Plan,
    Report,
    ReportEvent,
    ReportingPeriod,
    Task,
    TaskAgency,
    User,
)
from app.schemas.common import VIETNAM, AgencyRef, ItemRef
from app.schemas.dashboard import (
    AgencyCompliance,
    AssignmentItem,
    Assignments,
    Dashboard,
    DuePeriod,
    PeriodCompliance,
    PeriodStatus,
    Scorecard,
    StatusItem,
)
from app.services import level_succession
from app.services.common import agency_ref
from app.services.lineage import Lineage, data_version, load_lineage
from app.services.progress import ValuePoint, attainment, derive_status, derived_statuses
from app.services.successor_periods import agency_ids
from app.services.tasks import judged_progress, plan_tasks

TASK_STATUSES = ("completed", "on_track", "behind", "overdue", "not_started", "no_data")
ATTAINMENT = ("met", "not_met", "no_data", "not_applicable")


def _compliance(first_submitted: datetime | None, due: date) -> str:
    if first_submitted is None:
        return "missing"
    return "on_time" if first_submitted.astimezone(VIETNAM).date() <= due else "late"


def _first_submitted(report_id: Any) -> Any:
    """When the report was first submitted (later resubmissions do not make it late): a
    correlated subquery, one index lookup per report, instead of grouping every event."""
    return (
        select(func.min(ReportEvent.created_at))
        .where(col(ReportEvent.report_id) == report_id, col(ReportEvent.action) == "submitted")
        .scalar_subquery()
    )


async def _annual_asked(session: AsyncSession, period: ReportingPeriod) -> list[int]:
    """The agencies an annual period holds to account, through the lineage: an asked agency
    that had ended by the due date and filed no report is not "missing": its successors on
    that date are asked in its place. Ad hoc periods keep the list the reviewer named."""
    lineage = await load_lineage(session)
    reported = (
        select(col(Report.id))
        .where(col(Report.period_id) == period.id, col(Report.agency_id) == col(Agency.id))
        .exists()
    )
    asked = (
        await session.execute(
            select(col(Agency.id), col(Agency.code), col(Agency.kind), reported)
            .join(PeriodAgency, col(PeriodAgency.agency_id) == col(Agency.id))
            .where(col(PeriodAgency.period_id) == period.id)
        )
    ).all()
    codes: set[str] = set()
    for _, code, _, filed in asked:
        current = lineage.chain(code, period.due_date)[0] if code in lineage.agencies else [code]
        if current == [code] or filed:
            codes.add(code)
        else:
            codes.update(current)
    ids = {code: (agency_id, kind) for agency_id, code, kind, _ in asked}
    if codes <= ids.keys():  # no successor asked in an ended agency's place: no query
        return [ids[code][0] or 0 for code in codes if ids[code][1] != "group"]
    return await agency_ids(session, codes)


async def period_compliance(session: AsyncSession, period: ReportingPeriod) -> PeriodCompliance:
    """Each agency asked: on time, late or missing, by its report's first submission (an
    annual period through the lineage, ``_annual_asked``)."""
    if period.kind == "annual":
        ids: Any = await _annual_asked(session, period)
    else:
        ids = select(col(PeriodAgency.agency_id)).where(col(PeriodAgency.period_id) == period.id)
    rows = await session.execute(
        # Columns, not Agency entities: loading an entity costs more than the rest of a row.
        select(
            col(Agency.code),
            col(Agency.name),
            col(Agency.short_name),
            col(Agency.kind),
            _first_submitted(col(Report.id)),
        )
        .outerjoin(
            Report, (col(Report.agency_id) == col(Agency.id)) & (col(Report.period_id) == period.id)
        )
        .where(col(Agency.id).in_(ids))
        .order_by(col(Agency.sort_order), col(Agency.id))
    )
    agencies = [
        AgencyCompliance(
            agency=AgencyRef(code=code, name=name, short_name=short_name, kind=kind),
            status=_compliance(submitted, period.due_date),
            first_submitted_at=submitted,
        )
        for code, name, short_name, kind, submitted in rows
    ]
    counts = Counter(a.status for a in agencies)
    return PeriodCompliance(
        period=ItemRef(code=period.code, title=period.title),
        period_id=period.id or 0,
        due_date=period.due_date,
        counts={status: counts.get(status, 0) for status in ("on_time", "late", "missing")},
        agencies=agencies,
    )


@dataclass
class _PlanTargets:
    """A plan's indicator targets with their indicator's target year, as read at one data
    version (detached: read-only, shared by requests)."""

    version: tuple[Any, ...]
    targets: list[tuple[IndicatorTarget, int]]


_PLAN_TARGETS: dict[tuple[str, int], _PlanTargets] = {}


async def _plan_targets(session: AsyncSession, plan: Plan) -> list[tuple[IndicatorTarget, int]]:
    """The plan's targets from the process cache while the data version stands (read after
    it, so never staler than it), else read now."""
    version = await data_version(session)
    bind: Any = session.get_bind()
    key = (bind.engine.url.render_as_string(hide_password=True), plan.id or 0)
    cached = _PLAN_TARGETS.get(key)
    if cached is not None and cached.version == version:
        return cached.targets
    rows = (
        await session.execute(
            select(IndicatorTarget, col(Indicator.target_year))
            .join(Indicator, col(Indicator.id) == col(IndicatorTarget.indicator_id))
            .where(col(Indicator.plan_id) == plan.id)
        )
    ).all()
    targets = [(target, year) for target, year in rows]
    for target, _ in targets:
        session.expunge(target)
    _PLAN_TARGETS[key] = _PlanTargets(version, targets)
    return targets


# Per target, the newest approved province-wide value (level unset or `province`, no
# district) in the read model: the one point ``attainment`` judges of the whole series.
_PROVINCE_LATEST = text(
    """
SELECT DISTINCT ON (target_id) target_id, value, achieved, as_of, level
FROM indicator_value_latest
WHERE target_id = ANY(CAST(:ids AS integer[]))
  AND (level IS NULL OR level = 'province') AND district_agency_id IS NULL
ORDER BY target_id, as_of DESC, indicator_value_id DESC
"""
).bindparams(bindparam("ids"))


async def province_latest(
    session: AsyncSession, target_ids: list[int]
) -> dict[int, list[ValuePoint]]:
    """Per target, the point ``attainment`` judges (none without a value), in one query."""
    result: dict[int, list[ValuePoint]] = {t: [] for t in target_ids}
    for target_id, value, achieved, as_of, level in await session.execute(
        _PROVINCE_LATEST, {"ids": target_ids}
    ):
        result[target_id].append(
            ValuePoint(target_id, value, achieved, as_of, level, None, "", "", "")
        )
    return result


async def _target_attainment(
    session: AsyncSession, plan: Plan, today: date, indicator_ids: list[int] | None = None
) -> list[tuple[int, str]]:
    """(target year, attainment) of each target, judged today (a target whose level ended
    before its deadline is ``not_applicable``, app.services.level_succession)."""
    targets = await _plan_targets(session, plan)
    if indicator_ids is not None:
        chosen = set(indicator_ids)
        targets = [(t, year) for t, year in targets if t.indicator_id in chosen]
    values = await province_latest(session, [t.id or 0 for t, _ in targets])
    lineage = await load_lineage(session)
    return [
        (
            year,
            level_succession.judged_status(
                lineage,
                plan.code,
                t.code,
                t.level,
                t.deadline_year,
                today,
                attainment(t, values[t.id or 0])[0],
            ),
        )
        for t, year in targets
    ]


async def dashboard(session: AsyncSession, plan: Plan, today: date) -> Dashboard:
    known = (await plan_tasks(session, plan)).tasks
    parents = {t.parent for t in known}
    leaves = [t for t in known if t.code not in parents]  # not headings with sub-items
    progress = await judged_progress(session, leaves, today)
    by_group: dict[str, Counter[str]] = {}
    for task in leaves:
        status, _ = derive_status(
            start_year=task.start_year,
            end_year=task.end_year,
            recurrence=task.recurrence,
            progress=progress[task.id],
            today=today,
        )
        by_group.setdefault(task.group, Counter())[status] += 1
    by_year: dict[str, Counter[str]] = {}
    for year, status in await _target_attainment(session, plan, today):
        by_year.setdefault(str(year), Counter())[status] += 1
    # This year's annual period (if any) and the last approval, in one statement.
    # The newest approval first (ix_reports_approved_at), not max() over every report.
    last = (
        select(col(Report.approved_at))
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(Report.period_id))
        .where(col(ReportingPeriod.plan_id) == plan.id, col(Report.approved_at).is_not(None))
        .order_by(col(Report.approved_at).desc())
        .limit(1)
        .scalar_subquery()
    )
    this_year = (
        select(ReportingPeriod)
        .where(
            col(ReportingPeriod.plan_id) == plan.id,
            col(ReportingPeriod.kind) == "annual",
            col(ReportingPeriod.year) == today.year,
        )
        .subquery()
    )
    current = aliased(ReportingPeriod, this_year)
    one = select(literal(1).label("one")).subquery()  # a row, whether the period exists or not
    row = (
        await session.execute(select(last, current).select_from(one).outerjoin(this_year, true()))
    ).one()
    last_approval, period = row[0], row[1]
    return Dashboard(
        tasks_by_group={g: {s: c.get(s, 0) for s in TASK_STATUSES} for g, c in by_group.items()},
        targets_by_year={y: {s: c.get(s, 0) for s in ATTAINMENT} for y, c in by_year.items()},
        current_period=await period_compliance(session, period) if period else None,
        last_approval_at=last_approval,
    )


async def _linked(
    session: AsyncSession,
    plan: Plan,
    agency: Agency,
    item: Any,
    link: Any,
    owner: str,
    title: Any,
    roles: tuple[str, ...],
) -> list[tuple[Any, ...]]:
    """(item, role, via group code) for items naming the agency or one of its groups."""
    groups = select(col(AgencyGroupMember.group_id)).where(
        col(AgencyGroupMember.member_id) == agency.id
    )
    via = Agency.__table__.alias("via")  # type: ignore[attr-defined]
    rows = await session.execute(
        select(item, link.role, via.c.code, link.agency_id)
        .join(link, getattr(link, owner) == item.id)
        .join(via, via.c.id == link.agency_id)
        .where(
            item.plan_id == plan.id,
            link.role.in_(roles),
            (link.agency_id == agency.id) | link.agency_id.in_(groups),
        )
        .order_by(item.sort_order, link.role)
    )
    return [
        (it, role, None if agency_id == agency.id else code) for it, role, code, agency_id in rows
    ]


def _predecessors(lineage: Lineage, code: str, on: date) -> set[str]:
    """The agencies whose roles ``code`` carries on ``on`` (through any chain of events)."""
    return {
        other for other in lineage.agencies if other != code and code in lineage.chain(other, on)[0]
    }


async def scorecard(session: AsyncSession, plan: Plan, agency: Agency, today: date) -> Scorecard:
    task_rows = await _linked(
        session, plan, agency, Task, TaskAgency, "task_id", Task.title, ("lead",)
    )
    tasks = [t for t, _, _ in task_rows]
    statuses = await derived_statuses(session, tasks, today)
    indicator_ids = [
        i.id
        for i, _, _ in await _linked(
            session,
            plan,
            agency,
            Indicator,
            IndicatorAgency,
            "indicator_id",
            Indicator.text,
            ("lead",),
        )
    ]
    targets = Counter(s for _, s in await _target_attainment(session, plan, today, indicator_ids))
    lineage = await load_lineage(session)
    predecessors = _predecessors(lineage, agency.code, today)
    reporters = [agency.id or 0] + await agency_ids(session, predecessors)
    periods = await session.execute(
        select(ReportingPeriod, Agency, _first_submitted(col(Report.id)))
        .join(PeriodAgency, col(PeriodAgency.period_id) == col(ReportingPeriod.id))
        .join(Agency, col(Agency.id) == col(PeriodAgency.agency_id))
        .outerjoin(
            Report,
            (col(Report.period_id) == col(ReportingPeriod.id))
            & (col(Report.agency_id) == col(PeriodAgency.agency_id)),
        )
        .where(
            col(PeriodAgency.agency_id).in_(reporters),
            col(ReportingPeriod.plan_id) == plan.id,
            col(ReportingPeriod.due_date) <= today,
            # The scorecard is public; ad hoc requests are not (GET /periods hides them).
            col(ReportingPeriod.kind) == "annual",
        )
        .order_by(col(ReportingPeriod.due_date), col(ReportingPeriod.id), col(Agency.sort_order))
    )
    period_rows = [
        PeriodStatus(
            period=ItemRef(code=p.code, title=p.title),
            due_date=p.due_date,
            status=_compliance(submitted, p.due_date),
            reported_by=None if by.id == agency.id else agency_ref(by),
        )
        for p, by, submitted in periods
        # A predecessor's row counts while it existed on the due date, or if it reported.
        if by.id == agency.id
        or submitted is not None
        or lineage.chain(by.code, p.due_date)[0] == [by.code]
    ]
    counts = Counter(statuses.values())
    return Scorecard(
        agency=agency_ref(agency),
        tasks={s: counts.get(s, 0) for s in TASK_STATUSES},
        task_list=[
            StatusItem(code=t.code, title=t.title, status=statuses[t.id or 0], via=via)
            for t, _, via in task_rows
        ],
        targets={s: targets.get(s, 0) for s in ATTAINMENT},
        periods=period_rows,
    )


@cache
def _assigned_statement() -> Any:
    """What an agency is assigned, the three kinds in one query (code and title only, not
    the items' entities), in plan order; an item named for the agency and for its group,
    direct first. Built once: the plan and agency are bound parameters."""
    plan_id, agency_id = bindparam("plan_id", type_=Integer), bindparam("agency_id", type_=Integer)
    both = ("lead", "coordinating")
    groups = select(col(AgencyGroupMember.group_id)).where(
        col(AgencyGroupMember.member_id) == agency_id
    )
    via = Agency.__table__.alias("via")  # type: ignore[attr-defined]
    per_kind = [
        select(
            literal(n).label("kind"),
            col(item.code).label("code"),
            col(title).label("title"),
            col(link.role).label("role"),
            via.c.code.label("via"),
            col(link.agency_id).label("agency_id"),
            col(item.sort_order).label("sort_order"),
        )
        .join(link, getattr(link, owner) == item.id)
        .join(via, via.c.id == link.agency_id)
        .where(
            item.plan_id == plan_id,
            col(link.role).in_(both),
            (col(link.agency_id) == agency_id) | col(link.agency_id).in_(groups),
        )
        for n, item, link, owner, title in _ASSIGNED_KINDS
    ]
    united = union_all(*per_kind).subquery()
    return select(united).order_by(
        united.c.kind,
        united.c.sort_order,
        united.c.role,
        (united.c.agency_id == agency_id).desc(),
        united.c.via,
    )


_ASSIGNED_KINDS: tuple[tuple[str, Any, Any, str, Any], ...] = (
    ("tasks", Task, TaskAgency, "task_id", Task.title),
    ("indicators", Indicator, IndicatorAgency, "indicator_id", Indicator.text),
    ("documents", Document, DocumentAgency, "document_id", Document.title),
)


@cache
def _open_periods_statement() -> Any:
    """The open periods of the plan asking the agency, with the agency's report if any."""
    plan_id, agency_id = bindparam("plan_id", type_=Integer), bindparam("agency_id", type_=Integer)
    return (
        select(
            col(ReportingPeriod.id),
            col(ReportingPeriod.code),
            col(ReportingPeriod.title),
            col(ReportingPeriod.due_date),
            col(ReportingPeriod.cutoff_date),
            col(Report.id).label("report_id"),
            col(Report.state).label("report_state"),
        )
        .join(PeriodAgency, col(PeriodAgency.period_id) == col(ReportingPeriod.id))
        .outerjoin(
            Report,
            (col(Report.period_id) == col(ReportingPeriod.id))
            & (col(Report.agency_id) == agency_id),
        )
        .where(
            col(PeriodAgency.agency_id) == agency_id,
            col(ReportingPeriod.status) == "open",
            col(ReportingPeriod.plan_id) == plan_id,
        )
        .order_by(col(ReportingPeriod.due_date))
    )


async def assignments(session: AsyncSession, plan: Plan, user: User) -> Assignments:
    agency = await session.get(Agency, user.agency_id)
    assert agency is not None
    ids = {"plan_id": plan.id, "agency_id": agency.id}
    assigned: dict[str, list[AssignmentItem]] = {n: [] for n, *_ in _ASSIGNED_KINDS}
    for n, code, title, role, code_via, agency_id, _ in await session.execute(
        _assigned_statement(), ids
    ):
        assigned[n].append(
            AssignmentItem.model_construct(
                code=code, title=title, role=role, via=None if agency_id == agency.id else code_via
            )
        )
    periods = await session.execute(_open_periods_statement(), ids)
    return Assignments(
        agency=agency_ref(agency),
        tasks=assigned["tasks"],
        indicators=assigned["indicators"],
        documents=assigned["documents"],
        open_periods=[
            DuePeriod(
                period=ItemRef(code=p.code, title=p.title),
                period_id=p.id,
                due_date=p.due_date,
                cutoff_date=p.cutoff_date,
                report_id=p.report_id,
                report_state=p.report_state,
            )
            for p in periods
        ],
    )

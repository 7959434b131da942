"""Task queries: the public list and detail of Phụ lục 3."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.core.errors import NotFoundError, UnknownFilterValueError
from app.core.pagination import SortKey, encode_cursor
from app.models import Plan, Section, Task, TaskAgency, TaskGroup
from app.schemas.common import VIETNAM, AgencyRef, ItemRef
from app.schemas.tasks import TaskProgress, TaskRead
from app.services.common import (
    LinksByItem,
    agency_id_for_filter,
    linked_to_agency,
    load_agency_links,
    refs_by_owner,
    search_clause,
)
from app.services.history import progress_url, yearly_task_progress
from app.services.lineage import Lineage, Resolver, data_version
from app.services.progress import Progress, derive_status

Group = aliased(TaskGroup, name="grp")
Subgroup = aliased(TaskGroup, name="subgrp")
Parent = aliased(Task, name="parent_task")


def _base(plan: Plan) -> Any:
    return (
        select(
            Task,
            col(Group.code),
            col(Subgroup.code),
            col(Parent.code),
            col(Group.title),
            col(Subgroup.title),
        )
        .join(Group, col(Group.id) == col(Task.group_id))
        .outerjoin(Subgroup, col(Subgroup.id) == col(Task.subgroup_id))
        .outerjoin(Parent, col(Parent.id) == col(Task.parent_id))
        .where(col(Task.plan_id) == plan.id)
    )


def _progress(item: Progress) -> TaskProgress:
    return TaskProgress(
        status=item.status,
        percent_complete=item.percent_complete,
        public_summary=item.public_summary,
        period=item.period_code,
        as_of=item.as_of,
        approved_at=item.approved_at,
    )


def _summary(
    row: Any, links: dict[str, Any], progress: list[Progress], today: date
) -> dict[str, Any]:
    task: Task = row[0]
    status, judged = derive_status(
        start_year=task.start_year,
        end_year=task.end_year,
        recurrence=task.recurrence,
        progress=progress,
        today=today,
    )
    return {
        "derived_status": status,
        "judged_year": judged,
        "progress": _progress(progress[0]) if progress else None,
        "code": task.code,
        "group": row[1],
        "subgroup": row[2],
        "parent": row[3],
        "number": task.number,
        "title": task.title,
        "lead": links["lead"],
        "coordinating": links["coordinating"],
        "lead_text": task.lead_text,
        "lead_note": task.lead_note,
        "start_year": task.start_year,
        "end_year": task.end_year,
        "recurrence": task.recurrence,
    }


async def _details(
    session: AsyncSession, rows: Sequence[Any], ids: list[int]
) -> tuple[LinksByItem, Callable[[Any], dict[str, Any]]]:
    """What a task's detail adds to its summary, for these rows of `_base`: the agency links
    by task, and the detail's plan fields of a row (sub-tasks, source section, texts)."""
    links = await load_agency_links(session, TaskAgency, "task_id", ids)
    subtasks = await refs_by_owner(session, Task, "parent_id", ids)
    section_ids = {row[0].source_section_id for row in rows} - {None}
    sources = {
        section_id: ItemRef(code=code, title=title)
        for section_id, code, title in await session.execute(
            select(col(Section.id), col(Section.code), col(Section.title)).where(
                col(Section.id).in_(section_ids)
            )
        )
    }

    def details(row: Any) -> dict[str, Any]:
        task: Task = row[0]
        return {
            "full_text": task.full_text,
            "deliverables": task.deliverables,
            "group_title": row[4],
            "subgroup_title": row[5],
            "source_section": sources.get(task.source_section_id or 0),
            "subtasks": subtasks[task.id or 0],
            "note": task.note,
        }

    return links, details


async def read_tasks(
    session: AsyncSession, plan: Plan, codes: Sequence[str], today: date, query: str = ""
) -> list[TaskRead]:
    """The plan's tasks of these codes as `GET /tasks/{code}` shows each, in plan order,
    in a fixed number of queries however many (the sync feed reads a page of them); an
    unknown code is left out. ``query`` ends `progress_url` (``?plan=`` of another plan)."""
    rows = (
        await session.execute(
            _base(plan).where(col(Task.code).in_(list(codes))).order_by(col(Task.sort_order))
        )
    ).all()
    if not rows:
        return []
    ids = [row[0].id or 0 for row in rows]
    links, details = await _details(session, rows, ids)
    # Bounded: the latest of each year, which keeps what the derived status reads.
    progress, complete = await yearly_task_progress(session, ids)
    out = []
    for row in rows:
        task: Task = row[0]
        task_id = task.id or 0
        out.append(
            TaskRead.model_validate(
                {
                    **_summary(row, links[task_id], progress[task_id], today),
                    "progress_history": [_progress(p) for p in progress[task_id]],
                    "progress_history_complete": complete[task_id],
                    "progress_url": progress_url(task.code) + query,
                    **details(row),
                }
            )
        )
    return out


# The public list and detail, rendered from parts. A task's plan fields (its texts, groups
# and agencies) change only with the plan data, so they are read and rendered once per data
# version and process (`plan_tasks`); a request reads only the approved progress (the read
# model, one query) and adds what depends on it and on the day (derived status, progress,
# `responsible`) to the rendered parts. The bytes are those of TaskPage / TaskRead as
# FastAPI renders them (tests/services/test_task_rendering.py holds them equal).

_HEAD_END = b',"derived_status":'  # TaskSummary's plan fields come before it, in this order
_DETAIL_START = b',"full_text":'  # TaskRead's own plan fields: from here ...
_DETAIL_END = b',"progress_history":'  # ... to here
_RESPONSIBLE_KEPT = 8192  # rendered `responsible` values kept per plan and version


@dataclass(frozen=True)
class PlanTask:
    """One task as the plan defines it, with its fixed parts rendered."""

    id: int
    key: SortKey  # (sort_order, id): the list's order and cursor
    code: str
    group: str  # the group's code, A-F
    parent: str | None  # the parent task's code (B.3's sub-items)
    group_id: int
    subgroup_id: int | None
    start_year: int | None
    end_year: int | None
    recurrence: str
    lead: list[AgencyRef]
    coordinating: list[AgencyRef]
    head: bytes  # `{"code":…,"recurrence":…`: TaskSummary up to derived_status
    detail: bytes  # `,"full_text":…,"note":…`: TaskRead's own plan fields


@dataclass
class PlanTasks:
    """A plan's tasks in plan order, as read at one data version."""

    version: tuple[Any, ...]
    tasks: list[PlanTask]
    by_code: dict[str, PlanTask]
    groups: dict[str, int]  # group and sub-group codes
    # `responsible` by (day, task id), for `lineage` (the graph of the same version).
    lineage: Lineage | None = None
    responsible: dict[tuple[date, int], bytes] = field(default_factory=dict)


_PLAN_TASKS: dict[tuple[str, int], PlanTasks] = {}


async def plan_tasks(session: AsyncSession, plan: Plan) -> PlanTasks:
    """The plan's tasks from the process cache while the data version stands (read after the
    version, so never staler than it); else read and rendered now (a few queries)."""
    version = await data_version(session)
    bind: Any = session.get_bind()
    key = (bind.engine.url.render_as_string(hide_password=True), plan.id or 0)
    cached = _PLAN_TASKS.get(key)
    if cached is not None and cached.version == version:
        return cached
    rows = (await session.execute(_base(plan).order_by(col(Task.sort_order), col(Task.id)))).all()
    ids = [row[0].id or 0 for row in rows]
    links, details = await _details(session, rows, ids)
    groups = {
        code: int(group_id or 0)
        for code, group_id in await session.execute(
            select(col(TaskGroup.code), col(TaskGroup.id)).where(col(TaskGroup.plan_id) == plan.id)
        )
    }
    tasks = []
    for row in rows:
        task: Task = row[0]
        task_id = task.id or 0
        # Rendered by the schema itself, with no progress; the parts are cut at field names,
        # which cannot occur unescaped inside a string value.
        model = TaskRead.model_validate(
            {
                **_summary(row, links[task_id], [], date.min),
                "progress_history": [],
                "progress_history_complete": True,
                "progress_url": "",
                **details(row),
            }
        )
        body = bytes(model.__pydantic_serializer__.to_json(model, by_alias=True))
        tasks.append(
            PlanTask(
                id=task_id,
                key=(task.sort_order, task_id),
                code=task.code,
                group=row[1],
                parent=row[3],
                group_id=task.group_id,
                subgroup_id=task.subgroup_id,
                start_year=task.start_year,
                end_year=task.end_year,
                recurrence=task.recurrence,
                lead=links[task_id]["lead"],
                coordinating=links[task_id]["coordinating"],
                head=body[: body.index(_HEAD_END)],
                detail=body[body.index(_DETAIL_START) : body.index(_DETAIL_END)],
            )
        )
    made = PlanTasks(version, tasks, {t.code: t for t in tasks}, groups)
    _PLAN_TASKS[key] = made
    return made


# What the list shows of each task's approved progress (the read model): its latest row, and
# for an annual task the row of the year judged, which is all that derive_status reads. Rows
# of a task are in ``latest_task_progress``'s order, so the first is the same row there.
_JUDGED_PROGRESS = text(
    """
SELECT p.task_id, p.status, p.percent_complete, p.public_summary, r.code, p.year,
       p.cutoff_date, p.approved_at, 0 AS judged
FROM (
    SELECT DISTINCT ON (task_id) * FROM task_progress_latest
    WHERE task_id = ANY(CAST(:ids AS integer[]))
    ORDER BY task_id, cutoff_date DESC, approved_at DESC, task_update_id DESC
) p
JOIN reporting_periods r ON r.id = p.period_id
UNION ALL
SELECT p.task_id, p.status, p.percent_complete, p.public_summary, r.code, p.year,
       p.cutoff_date, p.approved_at, 1
FROM unnest(CAST(:annual AS integer[]), CAST(:years AS integer[])) AS j(task_id, year)
JOIN task_progress_latest p ON p.task_id = j.task_id AND p.year = j.year
JOIN reporting_periods r ON r.id = p.period_id
ORDER BY judged
"""
).bindparams(bindparam("ids"), bindparam("annual"), bindparam("years"))


async def judged_progress(
    session: AsyncSession, tasks: list[PlanTask], today: date
) -> dict[int, list[Progress]]:
    """Per task, the approved progress that its summary shows and its derived status judges:
    the latest, then (annual tasks) that of the year judged, from the read model in one
    query of at most two rows per task. ``derive_status`` judges it as it judges the task's
    whole ``latest_task_progress``."""
    annual = [t for t in tasks if t.recurrence == "annual" and t.start_year and t.end_year]
    params = {
        "ids": [t.id for t in tasks],
        "annual": [t.id for t in annual],
        "years": [min(max(today.year, t.start_year or 0), t.end_year or 0) for t in annual],
    }
    result: dict[int, list[Progress]] = {t.id: [] for t in tasks}
    for (
        task_id,
        status,
        percent,
        summary,
        code,
        year,
        cutoff,
        approved_at,
        _,
    ) in await session.execute(_JUDGED_PROGRESS, params):
        result[task_id].append(Progress(status, percent, summary, code, year, cutoff, approved_at))
    return result


def _progress_json(item: Progress) -> bytes:
    """TaskProgress as the schema renders it."""
    approved = item.approved_at
    return orjson.dumps(
        {
            "status": item.status,
            "percent_complete": item.percent_complete,
            "public_summary": item.public_summary,
            "period": item.period_code,
            "as_of": item.as_of,
            "approved_at": None if approved is None else approved.astimezone(VIETNAM).isoformat(),
        }
    )


def _responsible_json(known: PlanTasks, resolver: Resolver, task: PlanTask) -> bytes:
    """`responsible` as Resolver.attach sets it, rendered; kept per day while the graph is
    the one of this version."""
    lineage = resolver.lineage
    if known.lineage is not lineage or len(known.responsible) >= _RESPONSIBLE_KEPT:
        known.lineage = lineage
        known.responsible = {}
    key = (resolver.on, task.id)
    kept = known.responsible.get(key)
    if kept is None:
        agencies = lineage.agencies
        value = lineage.responsibility(
            task.code,
            [a for a in task.lead if a.code in agencies],
            [a for a in task.coordinating if a.code in agencies],
            resolver.on,
        )
        kept = bytes(value.__pydantic_serializer__.to_json(value, by_alias=True))
        known.responsible[key] = kept
    return kept


def _item_json(
    known: PlanTasks,
    resolver: Resolver,
    task: PlanTask,
    progress: list[Progress],
    today: date,
) -> list[bytes]:
    """The parts of a TaskSummary's JSON (without the closing brace)."""
    status, judged = derive_status(
        start_year=task.start_year,
        end_year=task.end_year,
        recurrence=task.recurrence,
        progress=progress,
        today=today,
    )
    return [
        task.head,
        b',"derived_status":"',
        status.encode(),
        b'","judged_year":',
        b"null" if judged is None else str(judged).encode(),
        b',"progress":',
        _progress_json(progress[0]) if progress else b"null",
        b',"responsible":',
        _responsible_json(known, resolver, task),
    ]


async def list_tasks_json(
    session: AsyncSession,
    plan: Plan,
    resolver: Resolver,
    *,
    group: str | None,
    agency: str | None,
    year: int | None,
    q: str | None,
    after: SortKey | None,
    limit: int,
    today: date,
) -> bytes:
    """`GET /tasks` as JSON bytes: list_tasks' page with `responsible` attached, the plan's
    fields from the process cache (filters by group and year applied to it, by agency and
    text in one query of ids), the progress of the page's tasks in one query."""
    known = await plan_tasks(session, plan)
    chosen = known.tasks
    if group is not None:
        group_id = known.groups.get(group)
        if group_id is None:
            raise UnknownFilterValueError("group", group)
        chosen = [t for t in chosen if group_id in (t.group_id, t.subgroup_id)]
    where = []
    if agency is not None:
        agency_id = await agency_id_for_filter(session, agency)
        where.append(linked_to_agency(TaskAgency, "task_id", col(Task.id), agency_id))
    if q is not None and (clause := search_clause(col(Task.search_text), q)) is not None:
        where.append(clause)
    if where:
        found = set(
            (
                await session.execute(
                    select(col(Task.id)).where(col(Task.plan_id) == plan.id, *where)
                )
            ).scalars()
        )
        chosen = [t for t in chosen if t.id in found]
    if year is not None:
        chosen = [
            t
            for t in chosen
            if t.start_year is not None
            and t.end_year is not None
            and t.start_year <= year <= t.end_year
        ]
    total = len(chosen)
    if after is not None:
        chosen = [t for t in chosen if t.key > after]
    page = chosen[:limit]
    next_cursor = encode_cursor("tasks", page[-1].key) if len(chosen) > limit else None
    progress = await judged_progress(session, page, today)
    parts = [b'{"items":[']
    for index, task in enumerate(page):
        if index:
            parts.append(b",")
        parts += _item_json(known, resolver, task, progress[task.id], today)
        parts.append(b"}")
    parts += [
        b'],"total":',
        str(total).encode(),
        b',"total_exact":true,"next_cursor":',
        orjson.dumps(next_cursor),
        b"}",
    ]
    return b"".join(parts)


async def get_task_json(
    session: AsyncSession,
    plan: Plan,
    resolver: Resolver,
    code: str,
    today: date,
    query: str = "",
) -> bytes:
    """`GET /tasks/{code}` as JSON bytes: get_task's answer with `responsible` attached, the
    plan's fields from the process cache, the progress history in two queries."""
    known = await plan_tasks(session, plan)
    task = known.by_code.get(code)
    if task is None:
        raise NotFoundError("task", code)
    progress, complete = await yearly_task_progress(session, [task.id])
    history = progress[task.id]
    parts = _item_json(known, resolver, task, history, today)
    parts += [
        task.detail,
        b',"progress_history":[',
        b",".join(_progress_json(p) for p in history),
        b'],"progress_history_complete":',
        b"true" if complete[task.id] else b"false",
        b',"progress_url":',
        orjson.dumps(progress_url(task.code) + query),
        b"}",
    ]
    return b"".join(parts)

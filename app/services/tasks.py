"""Task queries: the public list and detail of Phụ lục 3."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.core.errors import NotFoundError, UnknownFilterValueError
from app.core.pagination import SortKey
from app.models import Plan, Section, Task, TaskAgency, TaskGroup
from app.schemas.common import ItemRef
from app.schemas.tasks import TaskPage, TaskProgress, TaskRead, TaskSummary
from app.services.common import (
    agency_id_for_filter,
    fetch_page,
    linked_to_agency,
    load_agency_links,
    refs_by_owner,
    search_clause,
)
from app.services.history import progress_url, yearly_task_progress
from app.services.progress import (
    Progress,
    derive_status,
    latest_task_progress,
)

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


async def list_tasks(
    session: AsyncSession,
    plan: Plan,
    *,
    group: str | None,
    agency: str | None,
    year: int | None,
    q: str | None,
    after: SortKey | None,
    limit: int,
    today: date,
) -> TaskPage:
    stmt = _base(plan)
    if group is not None:
        group_id = (
            await session.execute(
                select(col(TaskGroup.id)).where(
                    col(TaskGroup.plan_id) == plan.id, col(TaskGroup.code) == group
                )
            )
        ).scalar()
        if group_id is None:
            raise UnknownFilterValueError("group", group)
        stmt = stmt.where(or_(col(Task.group_id) == group_id, col(Task.subgroup_id) == group_id))
    if agency is not None:
        agency_id = await agency_id_for_filter(session, agency)
        stmt = stmt.where(linked_to_agency(TaskAgency, "task_id", col(Task.id), agency_id))
    if year is not None:
        stmt = stmt.where(and_(col(Task.start_year) <= year, col(Task.end_year) >= year))
    if q is not None and (clause := search_clause(col(Task.search_text), q)) is not None:
        stmt = stmt.where(clause)
    rows, total, next_cursor = await fetch_page(
        session,
        stmt,
        sort_column=col(Task.sort_order),
        id_column=col(Task.id),
        after=after,
        limit=limit,
        list_name="tasks",
    )
    links = await load_agency_links(session, TaskAgency, "task_id", [r[0].id for r in rows])
    progress = await latest_task_progress(session, [r[0].id for r in rows])
    items = [
        TaskSummary.model_validate(_summary(r, links[r[0].id], progress[r[0].id], today))
        for r in rows
    ]
    return TaskPage(items=items, total=total, next_cursor=next_cursor)


async def get_task(
    session: AsyncSession, plan: Plan, code: str, today: date, query: str = ""
) -> TaskRead:
    found = await read_tasks(session, plan, [code], today, query)
    if not found:
        raise NotFoundError("task", code)
    return found[0]


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
                    "full_text": task.full_text,
                    "deliverables": task.deliverables,
                    "group_title": row[4],
                    "subgroup_title": row[5],
                    "source_section": sources.get(task.source_section_id or 0),
                    "subtasks": subtasks[task_id],
                    "note": task.note,
                }
            )
        )
    return out

"""Task progress: status, percent complete, public summary, difficulties, next steps."""

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import Plan, Task, TaskAgency, TaskUpdate
from app.schemas.reports import TaskUpdateCreate, TaskUpdatePage, TaskUpdatePatch, TaskUpdateRead
from app.services.item_kinds.base import Extras, ItemKind, plan_item_id, titled
from app.services.successors import require_assigned


class TaskUpdates(ItemKind[TaskUpdate, TaskUpdateCreate, TaskUpdatePatch, TaskUpdateRead]):
    order = 1
    path = "task-updates"
    entity = "task_update"
    model = TaskUpdate
    create_schema = TaskUpdateCreate
    patch_schema = TaskUpdatePatch
    read_schema = TaskUpdateRead
    page_schema = TaskUpdatePage
    subject_fields = frozenset({"task"})
    subject_doc = "task (`task`: its code)"

    async def resolve(
        self, session: AsyncSession, plan: Plan, agency_id: int, body: TaskUpdateCreate, on: date
    ) -> dict[str, Any]:
        task_id = await plan_item_id(session, Task, plan, Task.code, body.task, "task")
        await require_assigned(
            session, TaskAgency, "task_id", task_id, body.task, agency_id, on, "task"
        )
        return {"task_id": task_id}

    async def extras(self, session: AsyncSession, items: list[TaskUpdate]) -> Extras:
        refs = await titled(session, Task, col(Task.code), [i.task_id for i in items])
        return {i.id or 0: {"task": refs[i.task_id]} for i in items}

    def watched_task_ids(self, item: TaskUpdate) -> list[int]:
        return [item.task_id]


KIND = TaskUpdates()

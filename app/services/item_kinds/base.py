"""The protocol of a report item kind, and what every kind shares.

A kind (task update, indicator value, document update ...) owns its table, its create,
patch and read schemas, the rules its fields must satisfy, and how a stored row becomes
its read shape. The life cycle of items (who may write them when, returns, versions,
history) is written once in app.services.report_items and knows kinds only through this
protocol; the HTTP routes are registered per kind by app.routers.report_items. A new kind
is a new module in this package (found by `app.services.item_kinds.KINDS`) plus the
migration creating its table.
"""

from datetime import date
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import FieldValidationError
from app.core.http import etag
from app.models import Plan
from app.models.reports import ItemBase
from app.schemas.common import Page
from app.schemas.reports import ItemCommon

M = TypeVar("M", bound=ItemBase)
C = TypeVar("C", bound=BaseModel)
P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=ItemCommon)

Extras = dict[int, dict[str, Any]]  # per item id: read fields that are not its columns


class ItemKind(Generic[M, C, P, R]):
    """One kind of report item. Subclasses set the class attributes and the hooks."""

    order: ClassVar[int]  # place in listings: routes, report detail, counts
    path: ClassVar[str]  # URL segment and `item_kind` in history and attachments
    entity: ClassVar[str]  # audit entity and ETag prefix
    model: type[M]
    create_schema: type[C]
    patch_schema: type[P]
    read_schema: type[R]
    page_schema: type[Page[R]]
    subject_fields: ClassVar[frozenset[str]]  # body fields naming the subject, not columns
    subject_doc: ClassVar[str]  # what the body names, for the API description
    rules_doc: ClassVar[str] = ""  # field rules, for the API description

    def etag(self, item: ItemBase) -> str:
        """Opaque to clients; a new one whenever the item's version moves."""
        return etag(self.entity, item.id or 0, item.version)

    async def resolve(
        self, session: AsyncSession, plan: Plan, agency_id: int, body: C, on: date
    ) -> dict[str, Any]:
        """Column values naming the subject, after checking the agency is assigned it, as the
        plan names it or as a predecessor's successor on ``on`` (the cut-off date of the
        report's period) (422 `unknown_…` or `not_assigned` otherwise)."""
        raise NotImplementedError

    def columns(self, body: BaseModel, *, partial: bool) -> dict[str, Any]:
        """Column values from a create body (partial=False) or a patch (only fields sent)."""
        return body.model_dump(exclude=set(self.subject_fields), exclude_unset=partial)

    async def validate(self, session: AsyncSession, item: M) -> None:
        """Rules across fields, checked on the item as it would be stored (422)."""

    async def extras(self, session: AsyncSession, items: list[M]) -> Extras:
        """Read fields that are not columns (the subject's code and title ...), for many
        items in a fixed number of queries."""
        raise NotImplementedError

    def watched_task_ids(self, item: M) -> list[int]:
        """Tasks whose public status this item's approval or return may move."""
        return []

    def read(self, item: M, extras: dict[str, Any], actions: list[str]) -> R:
        return self.read_schema.model_validate(
            {
                **item.model_dump(),
                **extras,
                "etag": self.etag(item),
                "allowed_actions": actions,
            }
        )


async def plan_item_id(
    session: AsyncSession, model: Any, plan: Plan, key: Any, value: Any, field: str
) -> int:
    """The id of the plan's task or document named in the body; 422 when there is none."""
    found = (
        await session.execute(
            select(col(model.id)).where(col(model.plan_id) == plan.id, col(key) == value)
        )
    ).scalar()
    if found is None:
        raise FieldValidationError([(field, f"unknown_{field}")])
    return int(found)


async def titled(session: AsyncSession, model: Any, key: Any, ids: list[int]) -> dict[int, Any]:
    """{id: ItemRef-shaped dict} of plan rows, by the column that is their code."""
    rows = await session.execute(
        select(col(model.id), key, col(model.title)).where(col(model.id).in_(ids))
    )
    return {row_id: {"code": str(code), "title": title} for row_id, code, title in rows}

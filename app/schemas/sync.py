"""Sync feed contract."""

from typing import Literal

from pydantic import MISSING, BaseModel, Field

from app.schemas.agencies import AgencyRead
from app.schemas.common import LocalDateTime
from app.schemas.documents import DocumentRead
from app.schemas.indicators import IndicatorRead
from app.schemas.periods import PeriodRead
from app.schemas.reports import (
    DocumentUpdateRead,
    IndicatorValueRead,
    ReportDetail,
    TaskUpdateRead,
)
from app.schemas.sections import SectionRead
from app.schemas.tasks import TaskRead

Include = Literal["body"]
BODY_PAGE_LIMIT = 100  # changes per page when each carries its object's body

Body = (
    TaskRead
    | IndicatorRead
    | DocumentRead
    | SectionRead
    | AgencyRead
    | PeriodRead
    | ReportDetail
    | TaskUpdateRead
    | IndicatorValueRead
    | DocumentUpdateRead
)

EntityType = Literal[
    "task",
    "indicator",
    "document",
    "section",
    "agency",
    "period",
    "report",
    "task_update",
    "indicator_value",
    "document_update",
]


class ChangeRead(BaseModel):
    type: EntityType
    key: str = Field(
        description="Code, number or id; for report items `<report id>/<item id>`.",
        examples=["A.I.1"],
    )
    op: Literal["upsert", "delete"] = Field(description="delete: a tombstone.")
    url: str = Field(
        description="Where to fetch the current version.", examples=["/api/v1/tasks/A.I.1"]
    )
    at: LocalDateTime
    body: Body | MISSING | None = Field(
        default=MISSING,
        description=(
            "Only with `include=body`. On an upsert: the object as its own route (`url`; for "
            "an item, `url` + `/{item id}`) answers this caller now, the schema named by "
            "`type` (task: TaskRead, indicator: IndicatorRead, document: DocumentRead, "
            "section: SectionRead, agency: AgencyRead, period: PeriodRead, report: "
            "ReportDetail, task_update: TaskUpdateRead, indicator_value: IndicatorValueRead, "
            "document_update: DocumentUpdateRead). It is the current version, also when the "
            "object changes again later in the feed (store it again then). `null` on a "
            "tombstone, and on an upsert of an object deleted since (its tombstone follows) or "
            "no longer shown to the caller: drop the object."
        ),
    )


class SyncPage(BaseModel):
    changes: list[ChangeRead]
    next_cursor: str = Field(
        description="Pass as `since` next time.",
        examples=["eyJsIjoic3luYyIsImsiOlsxMjA0LDBdfQ.ccebf2350fb6"],
    )
    has_more: bool = Field(
        description="More changes are ready now: call again at once.", examples=[False]
    )

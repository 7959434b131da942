"""Sync feed contract."""

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import LocalDateTime

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


class SyncPage(BaseModel):
    changes: list[ChangeRead]
    next_cursor: str = Field(
        description="Pass as `since` next time.",
        examples=["eyJsIjoic3luYyIsImsiOlsxMjA0LDBdfQ.ccebf2350fb6"],
    )
    has_more: bool = Field(
        description="More changes are ready now: call again at once.", examples=[False]
    )

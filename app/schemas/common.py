"""Shapes shared by several domains."""

from datetime import datetime, timedelta, timezone
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

# Việt Nam keeps UTC+7 all year: times are stored in UTC and shown at this offset.
VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

LocalDateTime = Annotated[
    datetime,
    PlainSerializer(lambda value: value.astimezone(VIETNAM).isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(
        description="Rows matching the filters, over all pages: an exact count when "
        "`total_exact`, otherwise an estimate (see `total_exact`)."
    )
    total_exact: bool = Field(
        default=True,
        description="Lists that grow with history (audit, reports, review queue, "
        "notifications, users, periods, webhook deliveries, a report's history, an "
        "indicator's values, a task's progress) count matching rows only up to a limit "
        "(setting `DXPLAN_EXACT_TOTAL_LIMIT`, default 1000), so no page costs a count of "
        "the whole history. Past it `total_exact` is false and `total` is the database "
        "planner's estimate, never below the limit + 1; page with `next_cursor` until it is "
        "null to read every row. Always true for the plan's own lists.",
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page.",
        examples=["000000000000000c0000000000000028"],
    )


AgencyKind = Literal[
    "province",
    "department",
    "office",
    "board",
    "central_branch",
    "armed_forces",
    "press",
    "party",
    "district",
    "group",
]


class AgencyRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(examples=["STTTT"])
    name: str = Field(examples=["Sở Thông tin và Truyền thông"])
    short_name: str = Field(examples=["Sở TTTT"])
    kind: AgencyKind = Field(examples=["department"])


class ItemRef(BaseModel):
    """A plan item named by its stable code."""

    code: str = Field(examples=["B.3.1"])
    title: str | None = Field(examples=["Nâng cấp hệ thống quản lý văn bản và điều hành công việc"])


class Health(BaseModel):
    status: str = Field(examples=["ok"])

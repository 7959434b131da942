"""Reporting period contracts."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import AgencyRef, Page

PeriodState = Literal["planned", "open", "closed"]
PeriodStatus = PeriodState  # the old name, kept for importers

# `status` was renamed `state`, as reports name theirs (issue 10). The old name stays in v1
# (README, Versioning and deprecation): in answers, in PATCH bodies and as a list filter.
STATUS_DEPRECATED = (
    "Deprecated: the old name of `state`, always equal to it; kept in v1 (at least until "
    "2027-12-01), absent from v2."
)
STATUS_FILTER_DEPRECATED = (
    "Deprecated: the old name of `state`, filtering alike; kept in v1 (at least until "
    "2027-12-01), absent from v2."
)


class PeriodRead(BaseModel):
    id: int = Field(examples=[6])
    code: str = Field(examples=["annual-2026"])
    kind: Literal["annual", "ad_hoc"]
    year: int = Field(examples=[2026])
    title: str = Field(examples=["Báo cáo kết quả thực hiện Kế hoạch năm 2026"])
    instructions: str | None = Field(examples=[None])
    due_date: date = Field(
        description="Reports submitted after the end of this day are late.",
        examples=["2026-12-01"],
    )
    cutoff_date: date = Field(
        description="The figures of the period are as of this date.", examples=["2026-11-15"]
    )
    state: PeriodState = Field(
        description="`planned` (not open yet), `open` (reports may be created, edited and "
        "submitted) or `closed`.",
        examples=["open"],
    )
    status: PeriodState = Field(deprecated=True, description=STATUS_DEPRECATED, examples=["open"])
    agencies: list[AgencyRef] = Field(description="The agencies asked to report.")


class PeriodCreate(BaseModel):
    """An ad hoc request; it opens at once."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(
        min_length=1,
        max_length=300,
        examples=["Báo cáo đột xuất tình hình triển khai nền tảng LGSP"],
    )
    instructions: str | None = Field(
        default=None,
        max_length=5000,
        examples=["Báo cáo số hệ thống đã kết nối LGSP và các khó khăn, vướng mắc."],
    )
    due_date: date = Field(examples=["2026-07-15"])
    cutoff_date: date = Field(examples=["2026-06-30"])
    agencies: list[str] | None = Field(
        default=None,
        max_length=200,
        description="Agency codes asked; default: every agency that leads something.",
        examples=[["STTTT", "SYT", "SGDDT"]],
    )


class PeriodUpdate(BaseModel):
    """Open, close or extend a period. The state may be sent as `state` or, deprecated, as
    `status`; both with different values are refused (422)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    state: PeriodState | None = Field(default=None, examples=["open"])
    status: PeriodState | None = Field(default=None, deprecated=True, description=STATUS_DEPRECATED)
    due_date: date | None = Field(default=None, examples=["2026-12-08"])
    cutoff_date: date | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    instructions: str | None = Field(default=None, max_length=5000)


class PeriodPage(Page[PeriodRead]):
    pass

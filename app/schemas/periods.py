"""Reporting period contracts."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import AgencyRef, Page

PeriodStatus = Literal["planned", "open", "closed"]


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
    status: PeriodStatus = Field(examples=["open"])
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
    """Open, close or extend a period."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: PeriodStatus | None = Field(default=None, examples=["open"])
    due_date: date | None = Field(default=None, examples=["2026-12-08"])
    cutoff_date: date | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    instructions: str | None = Field(default=None, max_length=5000)


class PeriodPage(Page[PeriodRead]):
    pass

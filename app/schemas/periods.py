"""Reporting period contracts."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import AgencyRef, Page

PeriodStatus = Literal["planned", "open", "closed"]


class PeriodRead(BaseModel):
    id: int
    code: str = Field(examples=["annual-2026"])
    kind: Literal["annual", "ad_hoc"]
    year: int
    title: str
    instructions: str | None
    due_date: date = Field(description="Reports submitted after the end of this day are late.")
    cutoff_date: date = Field(description="The figures of the period are as of this date.")
    status: PeriodStatus
    agencies: list[AgencyRef] = Field(description="The agencies asked to report.")


class PeriodCreate(BaseModel):
    """An ad hoc request; it opens at once."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300)
    instructions: str | None = Field(default=None, max_length=5000)
    due_date: date
    cutoff_date: date
    agencies: list[str] | None = Field(
        default=None,
        max_length=200,
        description="Agency codes asked; default: every agency that leads something.",
    )


class PeriodUpdate(BaseModel):
    """Open, close or extend a period."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: PeriodStatus | None = None
    due_date: date | None = None
    cutoff_date: date | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    instructions: str | None = Field(default=None, max_length=5000)


class PeriodPage(Page[PeriodRead]):
    pass

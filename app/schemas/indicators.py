"""Indicator contracts (Phụ lục 1)."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import AgencyRef, Page


class ValuePointRead(BaseModel):
    value: float | None
    achieved: bool | None
    as_of: date
    level: Literal["province", "district", "commune"] | None
    district: str | None = Field(description="District-level agency code, when for one.")
    provenance: Literal["self_reported", "verified", "measured"]
    source: str
    period: str


class TargetRead(BaseModel):
    code: str = Field(examples=["CT-2025-01.1"])
    metric: str
    kind: Literal["numeric", "qualitative"]
    comparator: Literal["gte", "gt", "eq", "lte"] | None = Field(
        description="gte: at least; gt: more than; eq: exactly; lte: at most."
    )
    value: float | None
    unit: str | None
    level: Literal["province", "district", "commune"] | None
    deadline_year: int
    baseline: float | None
    text: str = Field(description="The words of the plan this target was read from.")
    attainment: Literal["met", "not_met", "no_data"] = Field(
        description="From the latest approved province-wide value; rules in the API description."
    )
    progress_ratio: float | None = Field(description="0-1 when not met (numeric targets).")
    series: list[ValuePointRead] = Field(description="Approved values, oldest first.")


class IndicatorRead(BaseModel):
    code: str = Field(examples=["CT-2025-01"])
    target_year: int = Field(examples=[2025])
    number: int
    text: str
    lead: list[AgencyRef]
    coordinating: list[AgencyRef]
    lead_text: str
    coordinating_text: str
    lead_note: str | None
    footnotes: list[str]
    targets: list[TargetRead]


class IndicatorPage(Page[IndicatorRead]):
    pass

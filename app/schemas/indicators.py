"""Indicator contracts (Phụ lục 1)."""

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import AgencyRef, Page


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

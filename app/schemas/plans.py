"""Plan metadata contract."""

from datetime import date
from typing import Any

from pydantic import BaseModel, Field


class PlanCounts(BaseModel):
    sections: int = Field(description="Every numbered part of the plan body.")
    content_items: int = Field(description="Items of part II (II.1.a … II.5.i).")
    tasks: int = Field(description="Task rows: numbered tasks plus sub-items.")
    numbered_tasks: int
    subtasks: int
    indicators: int
    indicators_by_year: dict[str, int]
    documents: int
    agencies: int


class Correction(BaseModel):
    location: str
    original: str
    corrected: str
    reason: str | None = None


class PlanRead(BaseModel):
    code: str = Field(examples=["2358/KH-UBND"])
    title: str
    issuer: str
    issued_on: date
    start_year: int
    end_year: int
    details: dict[str, Any] = Field(
        description="Preamble, legal basis, budget sources, the reporting clause, signer."
    )
    counts: PlanCounts
    corrections: list[Correction] = Field(
        description="Typing slips of the source text that the data corrects."
    )

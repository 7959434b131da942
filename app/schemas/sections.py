"""Section contracts: the numbered parts of the plan body."""

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import AgencyRef, ItemRef, Page


class SectionAgencyRead(BaseModel):
    agency: AgencyRef
    role: Literal["lead", "coordinating", "addressee"]
    bullets: list[int] | None = Field(
        description="1-based bullets (“ý”) the assignment covers; null for the whole section."
    )
    source: str | None = Field(description="The section of part IV that makes the assignment.")
    note: str | None


class SectionSummary(BaseModel):
    code: str = Field(examples=["II.1.a"])
    parent: str | None = Field(examples=["II.1"])
    level: int = Field(ge=1, le=3)
    number: str
    title: str | None
    lead: list[AgencyRef] = Field(description="Lead agencies, for any bullet of the section.")


class SectionRead(SectionSummary):
    text: str | None
    bullets: list[str]
    agencies: list[SectionAgencyRead]
    lead_note: str | None
    children: list[ItemRef]
    tasks: list[ItemRef] = Field(description="Phụ lục 3 tasks that carry out this section.")


class SectionPage(Page[SectionSummary]):
    pass

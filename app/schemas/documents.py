"""Document contracts (Phụ lục 2)."""

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import AgencyRef, Page


class DocumentRead(BaseModel):
    number: int = Field(description="Row number in Phụ lục 2.", examples=[1])
    code: str = Field(examples=["VB-01"])
    title: str
    type: str = Field(examples=["Nghị quyết"])
    recurrence: Literal["once", "annual"]
    lead: list[AgencyRef]
    coordinating: list[AgencyRef]
    lead_text: str
    coordinating_text: str
    note: str | None


class DocumentPage(Page[DocumentRead]):
    pass

"""Document contracts (Phụ lục 2)."""

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import AgencyRef, Page
from app.schemas.reorganisations import Responsibility


class DocumentRead(BaseModel):
    number: int = Field(description="Row number in Phụ lục 2.", examples=[1])
    code: str = Field(examples=["VB-01"])
    title: str = Field(
        examples=[
            "Nghị quyết Tỉnh ủy về chuyển đổi số giai đoạn 2021-2025, định hướng đến năm 2030"
        ]
    )
    type: str = Field(examples=["Nghị quyết"])
    recurrence: Literal["once", "annual"]
    lead: list[AgencyRef]
    coordinating: list[AgencyRef] = Field(
        examples=[
            [
                {
                    "code": "G_SBN",
                    "name": "Các sở, ban, ngành",
                    "short_name": "Sở, ban, ngành",
                    "kind": "group",
                }
            ]
        ]
    )
    lead_text: str = Field(examples=["Sở TTTT"])
    coordinating_text: str = Field(examples=["Sở, ban, ngành; UBND cấp huyện"])
    note: str | None = Field(examples=[None])
    responsible: Responsibility | None = Field(
        default=None,
        description="Who carries the plan's lead and coordinating roles on `as_of` (default "
        "today), through the recorded reorganisations; `lead`/`coordinating` stay as the plan "
        "wrote them.",
    )


class DocumentPage(Page[DocumentRead]):
    pass

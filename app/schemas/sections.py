"""Section contracts: the numbered parts of the plan body."""

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import AgencyRef, ItemRef, Page
from app.schemas.reorganisations import Responsibility


class SectionAgencyRead(BaseModel):
    agency: AgencyRef
    role: Literal["lead", "coordinating", "addressee"]
    bullets: list[int] | None = Field(
        description="1-based bullets (“ý”) the assignment covers; null for the whole section.",
        examples=[None],
    )
    source: str | None = Field(
        description="The section of part IV that makes the assignment.", examples=["IV.21"]
    )
    note: str | None = Field(examples=[None])


class SectionSummary(BaseModel):
    code: str = Field(examples=["II.1.a"])
    parent: str | None = Field(examples=["II.1"])
    level: int = Field(ge=1, le=3, examples=[3])
    number: str = Field(examples=["a"])
    title: str | None = Field(examples=["Chuyển đổi nhận thức"])
    lead: list[AgencyRef] = Field(
        description="Lead agencies, for any bullet of the section.",
        examples=[
            [
                {
                    "code": "G_SBN",
                    "name": "Các sở, ban, ngành",
                    "short_name": "Sở, ban, ngành",
                    "kind": "group",
                }
            ]
        ],
    )
    responsible: Responsibility | None = Field(
        default=None,
        description="Who carries the section's lead roles (and, in the detail, its coordinating "
        "roles) on `as_of` (default today), through the recorded reorganisations; the plan's "
        "own agencies stay as written.",
    )


class SectionRead(SectionSummary):
    text: str | None = Field(examples=[None])
    bullets: list[str] = Field(
        examples=[
            [
                "Xây dựng chuyên mục tuyên truyền, phổ biến trên các phương tiện thông tin đại "
                "chúng. Chia sẻ, phổ biến câu chuyện thành công, tôn vinh gương thành công điển "
                "hình về chuyển đổi số."
            ]
        ]
    )
    agencies: list[SectionAgencyRead]
    lead_note: str | None = Field(examples=[None])
    children: list[ItemRef] = Field(examples=[[]])
    tasks: list[ItemRef] = Field(
        description="Phụ lục 3 tasks that carry out this section.",
        examples=[
            [
                {
                    "code": "A.I.1",
                    "title": "Chương trình đào tạo nâng cao nhận thức và kỹ năng số trong các cơ "
                    "quan đảng, cơ quan nhà nước, tổ chức chính trị - xã hội (bao gồm cả nhận "
                    "thức về an toàn thông tin)",
                }
            ]
        ],
    )


class SectionPage(Page[SectionSummary]):
    pass

"""Plan metadata contract."""

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from app.schemas.reorganisations import ProvinceSuccession


class PlanCounts(BaseModel):
    sections: int = Field(description="Every numbered part of the plan body.", examples=[67])
    content_items: int = Field(description="Items of part II (II.1.a … II.5.i).", examples=[28])
    tasks: int = Field(description="Task rows: numbered tasks plus sub-items.", examples=[81])
    numbered_tasks: int = Field(examples=[73])
    subtasks: int = Field(examples=[8])
    indicators: int = Field(examples=[27])
    indicators_by_year: dict[str, int] = Field(examples=[{"2025": 15, "2030": 12}])
    documents: int = Field(examples=[13])
    agencies: int = Field(examples=[48])


class Correction(BaseModel):
    location: str = Field(examples=["sections/II.1.d/bullets/1"])
    original: str = Field(examples=["doanh nghiệp viên thông"])
    corrected: str = Field(examples=["doanh nghiệp viễn thông"])
    reason: str | None = Field(
        default=None,
        examples=["Missing tilde: 'viên thông' is a slip for 'viễn thông' (telecommunications)."],
    )


class PlanRead(BaseModel):
    code: str = Field(examples=["2358/KH-UBND"])
    title: str = Field(
        examples=[
            "Kế hoạch hành động thực hiện Nghị quyết “Chuyển đổi số giai đoạn 2021-2025, định "
            "hướng đến năm 2030” trên địa bàn tỉnh Hải Dương"
        ]
    )
    issuer: str = Field(examples=["UBND tỉnh Hải Dương"])
    issued_on: date = Field(examples=["2021-06-25"])
    start_year: int = Field(examples=[2021])
    end_year: int = Field(examples=[2030])
    details: dict[str, Any] = Field(
        description="Preamble, legal basis, budget sources, the reporting clause, signer.",
        examples=[
            {
                "signer": {
                    "name": "Nguyễn Dương Thái",
                    "title": "Chủ tịch",
                    "on_behalf_of": "TM. Ủy ban nhân dân",
                },
                "reporting": {
                    "deadline_month": 12,
                    "deadline_day": 1,
                    "recurrence": "annual",
                    "section": "IV.21",
                    "recipient": "STTTT",
                },
            }
        ],
    )
    counts: PlanCounts
    succession: ProvinceSuccession | None = Field(
        default=None,
        description="What became of the issuer and of the department reports go to (the "
        "reviewer), on `as_of` (default today), through the recorded reorganisations; "
        "`merged` and `statement` say when the issuing province was merged, with the basis.",
    )
    corrections: list[Correction] = Field(
        description="Typing slips of the source text that the data corrects."
    )

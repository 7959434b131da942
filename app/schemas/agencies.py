"""Agency contracts."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import AgencyRef, Page


class AgencySummary(AgencyRef):
    aliases: list[str] = Field(
        description="Spellings of the name found in the plan.",
        examples=[["Sở Thông tin và Truyền thông", "Sở TTTT", "Sở TT&TT"]],
    )
    parent: str | None = Field(examples=["UBND_TINH"])
    valid_from: date | None = Field(examples=[None])
    valid_to: date | None = Field(examples=[None])
    successor: str | None = Field(examples=[None])


class AgencyItemLink(BaseModel):
    code: str = Field(examples=["A.I.1"])
    title: str | None = Field(
        examples=["Chương trình đào tạo nâng cao nhận thức và kỹ năng số trong các cơ quan đảng"]
    )
    role: Literal["lead", "coordinating", "addressee"]
    via: str | None = Field(
        description="The group agency through which this agency holds the role, if any.",
        examples=[None],
    )


class AgencyRead(AgencySummary):
    note: str | None = Field(examples=[None])
    members: list[AgencyRef] = Field(description="For a group: its member agencies.", examples=[[]])
    member_of: list[AgencyRef] = Field(
        description="The groups this agency belongs to.",
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
    sections: list[AgencyItemLink] = Field(
        examples=[[{"code": "II.2.f", "title": None, "role": "lead", "via": None}]]
    )
    tasks: list[AgencyItemLink]
    indicators: list[AgencyItemLink] = Field(
        examples=[
            [
                {
                    "code": "CT-2030-03",
                    "title": "Hình thành nền tảng dữ liệu mở cho các ngành kinh tế trọng điểm",
                    "role": "lead",
                    "via": None,
                },
                {
                    "code": "CT-2025-01",
                    "title": "90% hồ sơ công việc tại cấp tỉnh; 80% hồ sơ công việc tại cấp "
                    "huyện và 70% hồ sơ công việc tại cấp xã được xử lý trên môi trường mạng",
                    "role": "coordinating",
                    "via": None,
                },
            ]
        ]
    )
    documents: list[AgencyItemLink] = Field(
        examples=[
            [
                {
                    "code": "VB-01",
                    "title": "Nghị quyết Tỉnh ủy về chuyển đổi số giai đoạn 2021-2025, định "
                    "hướng đến năm 2030",
                    "role": "lead",
                    "via": None,
                }
            ]
        ]
    )


class AgencyPage(Page[AgencySummary]):
    pass

"""Search contract."""

from typing import Literal

from pydantic import BaseModel, Field


class SearchHit(BaseModel):
    type: Literal["task", "indicator", "document", "section", "agency"]
    code: str = Field(examples=["E.1"])
    title: str = Field(
        examples=[
            "Xây dựng nền tảng số, hoàn thiện và phát triển dịch vụ Y tế thông minh phổ cập đến "
            "cấp cơ sở, đảm bảo điều kiện tham gia vào mạng lưới Y tế thông minh toàn quốc"
        ]
    )
    snippet: str = Field(
        description="Original text around the match; … where cut.",
        examples=["… phát triển dịch vụ Y tế thông minh phổ cập đến cấp cơ sở …"],
    )
    highlights: list[list[int]] = Field(
        description="[start, end) character ranges of the match within the snippet.",
        examples=[[[24, 29]]],
    )
    rank: int = Field(
        description="0: exact code; 1: match in the title; 2: in the text.", examples=[1]
    )


class SearchResults(BaseModel):
    items: list[SearchHit]
    total: int = Field(description="All hits; items holds the best `limit` of them.")

"""Search contract."""

from typing import Literal

from pydantic import BaseModel, Field

HitType = Literal["task", "indicator", "document", "section", "agency"]
# Every field the search indexes (services/search_index.py says which kind has which).
IndexedField = Literal[
    "code",
    "title",
    "name",
    "text",
    "full_text",
    "bullets",
    "deliverables",
    "lead_text",
    "short_name",
    "aliases",
    "number",
    "type",
]


class SearchHit(BaseModel):
    type: HitType = Field(description="Labels: `object_type` in /meta/enums.")
    code: str = Field(examples=["E.1"])
    title: str = Field(
        examples=[
            "Xây dựng nền tảng số, hoàn thiện và phát triển dịch vụ Y tế thông minh phổ cập đến "
            "cấp cơ sở, đảm bảo điều kiện tham gia vào mạng lưới Y tế thông minh toàn quốc"
        ]
    )
    snippet: str = Field(
        description="Original text of `matched_field` around the match (the whole field when "
        "short); … where cut.",
        examples=["… phát triển dịch vụ Y tế thông minh phổ cập đến cấp cơ sở …"],
    )
    highlights: list[list[int]] = Field(
        description="[start, end) character ranges (Unicode code points) of every match within "
        "the snippet, in order; never empty. They index the original text, diacritics "
        'included: `snippet[start:end]` is the matched words as written ("Y tế" for '
        '"y te").',
        examples=[[[21, 25]]],
    )
    matched_field: IndexedField = Field(
        description="The field of the object the snippet comes from: `code`, its title "
        "(`title`; `text` for an indicator, `name` for an agency) or another indexed field "
        "(`full_text`, `deliverables`, `lead_text`, `bullets`, `short_name`, `aliases`, "
        "`number`, `type`). Labels: `search_field` in /meta/enums.",
        examples=["title"],
    )
    rank: int = Field(
        description='0: the exact code; 1: a code starting with the query ("E.1" → E.10); '
        "2: a match in the title; 3: elsewhere. Hits come in rank order, then kind, then "
        "plan order.",
        examples=[2],
    )


class SearchResults(BaseModel):
    items: list[SearchHit]
    total: int = Field(description="All hits; items holds the best `limit` of them.")

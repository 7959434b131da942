"""Search contract."""

from typing import Literal

from pydantic import BaseModel, Field


class SearchHit(BaseModel):
    type: Literal["task", "indicator", "document", "section", "agency"]
    code: str = Field(examples=["E.1"])
    title: str
    snippet: str = Field(description="Original text around the match; … where cut.")
    highlights: list[list[int]] = Field(
        description="[start, end) character ranges of the match within the snippet."
    )
    rank: int = Field(description="0: exact code; 1: match in the title; 2: in the text.")


class SearchResults(BaseModel):
    items: list[SearchHit]
    total: int = Field(description="All hits; items holds the best `limit` of them.")

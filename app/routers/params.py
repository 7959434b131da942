"""Query parameters shared by several list routes."""

from typing import Annotated

from fastapi import Query

AgencyFilter = Annotated[
    str | None,
    Query(
        max_length=32,
        description="Agency code; matches items it leads or coordinates, directly or through a "
        "group it belongs to.",
        examples=["STTTT"],
    ),
]
SearchQuery = Annotated[
    str | None,
    Query(
        max_length=200,
        description="Text search, case- and diacritic-insensitive, matching at word starts: "
        "“y te” finds “Y tế”, “d” finds “đ”.",
        examples=["y te"],
    ),
]

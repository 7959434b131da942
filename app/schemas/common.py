"""Shapes shared by several domains."""

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Rows matching the filters, over all pages.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class AgencyRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(examples=["STTTT"])
    name: str = Field(examples=["Sở Thông tin và Truyền thông"])
    short_name: str = Field(examples=["Sở TTTT"])
    kind: str = Field(examples=["department"])


class ItemRef(BaseModel):
    """A plan item named by its stable code."""

    code: str
    title: str | None


class Health(BaseModel):
    status: str = Field(examples=["ok"])

"""Column helpers shared by the table modules."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class AgencyRole(StrEnum):
    """How an agency is tied to a plan item."""

    lead = "lead"
    coordinating = "coordinating"
    addressee = "addressee"  # the agency a section IV paragraph is addressed to


def jsonb_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))


def jsonb_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))


def created_at() -> Any:
    # sa_type, not sa_column: a Column object cannot be shared by tables that inherit it.
    return Field(
        default=None,
        sa_type=DateTime(timezone=True),
        nullable=False,
        sa_column_kwargs={"server_default": func.now()},
    )


def updated_at() -> Any:
    return Field(
        default=None,
        sa_type=DateTime(timezone=True),
        nullable=False,
        sa_column_kwargs={"server_default": func.now(), "onupdate": func.now()},
    )


Timestamp = datetime | None


class AgencyLinkBase(SQLModel):
    """Shape shared by the item ↔ agency link tables (lead, coordinating, addressee).

    Each table declares its primary key (owner, agency_id, role), owner first, so that loading
    the agencies of a page of items uses it.
    """

    agency_id: int = Field(foreign_key="agencies.id", ondelete="RESTRICT", index=True)
    role: str = Field(max_length=16)
    position: int = 0

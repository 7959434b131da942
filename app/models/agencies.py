"""Agencies: departments, district-level units and named groups of them.

An agency has a validity period and an optional successor, so renames and mergers (such as the
2025 merger of Hải Dương into Hải Phòng) can be recorded without rewriting history.
"""

from datetime import date
from typing import get_args

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from app.models.common import Timestamp, created_at, jsonb_list, updated_at
from app.schemas.common import AgencyKind

AGENCY_KINDS = get_args(AgencyKind)


class Agency(SQLModel, table=True):
    __tablename__ = "agencies"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in AGENCY_KINDS) + ")", name="kind"),
        CheckConstraint("code ~ '^[A-Z0-9_]+$'", name="code_ascii"),
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="validity"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=300)
    short_name: str = Field(max_length=120)
    kind: str = Field(max_length=20)
    aliases: list[str] = jsonb_list()
    parent_id: int | None = Field(default=None, foreign_key="agencies.id", ondelete="SET NULL")
    successor_id: int | None = Field(default=None, foreign_key="agencies.id", ondelete="SET NULL")
    valid_from: date | None = None
    valid_to: date | None = None
    note: str | None = None
    sort_order: int = 0
    search_text: str = ""
    created_at: Timestamp = created_at()
    updated_at: Timestamp = updated_at()


class AgencyGroupMember(SQLModel, table=True):
    """Membership of an agency in a group agency ("Các sở, ban, ngành", "UBND cấp huyện")."""

    __tablename__ = "agency_group_members"

    group_id: int = Field(foreign_key="agencies.id", primary_key=True, ondelete="CASCADE")
    member_id: int = Field(foreign_key="agencies.id", primary_key=True, ondelete="CASCADE")

"""Plans: the document a set of sections, tasks, indicators and documents belongs to."""

from datetime import date
from typing import Any

from sqlmodel import Field, SQLModel

from app.models.common import Timestamp, created_at, jsonb_dict, jsonb_list, updated_at


class Plan(SQLModel, table=True):
    __tablename__ = "plans"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    title: str
    issuer: str = Field(max_length=200)
    issued_on: date
    start_year: int
    end_year: int
    # Preamble, legal basis, budget sources, reporting clause, recipients, signer.
    details: dict[str, Any] = jsonb_dict()
    # Typing slips of the source text fixed in the data, each with its location.
    corrections: list[dict[str, Any]] = jsonb_list()
    created_at: Timestamp = created_at()
    updated_at: Timestamp = updated_at()

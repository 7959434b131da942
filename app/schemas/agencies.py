"""Agency contracts."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import AgencyRef, Page


class AgencySummary(AgencyRef):
    aliases: list[str] = Field(description="Spellings of the name found in the plan.")
    parent: str | None
    valid_from: date | None
    valid_to: date | None
    successor: str | None


class AgencyItemLink(BaseModel):
    code: str
    title: str | None
    role: Literal["lead", "coordinating", "addressee"]
    via: str | None = Field(
        description="The group agency through which this agency holds the role, if any."
    )


class AgencyRead(AgencySummary):
    note: str | None
    members: list[AgencyRef]
    member_of: list[AgencyRef]
    sections: list[AgencyItemLink]
    tasks: list[AgencyItemLink]
    indicators: list[AgencyItemLink]
    documents: list[AgencyItemLink]


class AgencyPage(Page[AgencySummary]):
    pass

"""Reorganisation contracts: the events, and who is responsible for a plan item on a date."""

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from app.schemas.common import AgencyKind, AgencyRef, LocalDateTime, Page

EventKind = Literal["merge", "split", "rename", "dissolve", "transfer", "level_abolished"]
CODE = r"^[A-Z0-9_]+$"
EVENT_CODE = r"^[A-Z0-9][A-Z0-9_-]*$"


# Responsibility on a date ------------------------------------------------------------------


class EventStep(BaseModel):
    """One event on the way from the plan's agency to today's."""

    code: str = Field(examples=["HD-2025-03-KHCN"])
    date: dt.date = Field(examples=["2025-03-01"])
    kind: EventKind
    legal_basis: list[str] = Field(
        description="Numbers of the documents the event rests on (those whose number is known).",
        examples=[["45/2025/NĐ-CP"]],
    )
    verified: bool


class ResolvedAgency(BaseModel):
    agency: AgencyRef = Field(description="The agency as the plan names it.")
    responsible: list[AgencyRef] = Field(
        description="The agencies carrying its part on the date asked (itself when unchanged; "
        "empty when it ended without a successor)."
    )
    path: list[EventStep] = Field(description="The events that led there, in date order.")
    members: list["ResolvedAgency"] | None = Field(
        default=None,
        examples=[None],
        description="For a group (“các sở, ban, ngành”): each member resolved; `responsible` "
        "is then the union of theirs.",
    )


class Responsibility(BaseModel):
    """Who carries an item's lead and coordinating roles on `as_of`, derived from the recorded
    reorganisations; the plan's own `lead`/`coordinating` stay as the plan wrote them."""

    as_of: dt.date = Field(description="The date asked (`as_of=`, default today in Việt Nam).")
    lead: list[ResolvedAgency]
    coordinating: list[ResolvedAgency]


# Events ------------------------------------------------------------------------------------


class LegalBasis(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str | None = Field(max_length=100, examples=["202/2025/QH15"])
    date: dt.date | None = Field(examples=["2025-06-12"])
    effective: dt.date | None = None
    issuer: str = Field(min_length=1, max_length=300, examples=["Quốc hội"])
    title: str = Field(min_length=1, max_length=2000)
    citation: str | None = Field(default=None, max_length=4000)
    sources: list[str] = Field(default=[], max_length=50)
    note: str | None = Field(default=None, max_length=4000)


class TransferBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    function: str | None = Field(default=None, max_length=1000)
    items: list[str] = Field(
        default=[], max_length=500, description="Plan item codes whose responsibility moves."
    )
    from_: str | None = Field(default=None, alias="from", max_length=32, pattern=CODE)
    to: str = Field(max_length=32, pattern=CODE)
    verified: bool
    note: str | None = Field(default=None, max_length=4000)


class TransferRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    function: str | None
    items: list[str]
    from_: AgencyRef | None = Field(alias="from", serialization_alias="from")
    to: AgencyRef
    verified: bool
    note: str | None


EVENT_EXAMPLE: dict[str, Any] = {
    "code": "HP-2025-07-CITY",
    "date": "2025-07-01",
    "date_note": None,
    "kind": "merge",
    "predecessors": [
        {
            "code": "UBND_TINH",
            "name": "Ủy ban nhân dân tỉnh Hải Dương",
            "short_name": "UBND tỉnh",
            "kind": "province",
        }
    ],
    "successors": [
        {
            "code": "UBND_HP",
            "name": "Ủy ban nhân dân thành phố Hải Phòng",
            "short_name": "UBND thành phố Hải Phòng",
            "kind": "province",
        }
    ],
    "introduced": [],
    "transfers": [],
    "legal_basis": [
        {
            "number": "202/2025/QH15",
            "date": "2025-06-12",
            "effective": "2025-06-12",
            "issuer": "Quốc hội",
            "title": "Nghị quyết về việc sắp xếp đơn vị hành chính cấp tỉnh năm 2025",
            "citation": None,
            "sources": [],
            "note": None,
        }
    ],
    "sources": [],
    "verified": True,
    "notes": None,
    "origin": "file",
    "updated_at": "2026-11-30T12:00:00+07:00",
}


class ReorganisationRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EVENT_EXAMPLE]})

    code: str
    date: dt.date = Field(description="The day the successors work from.")
    date_note: str | None
    kind: EventKind
    predecessors: list[AgencyRef]
    successors: list[AgencyRef]
    introduced: list[AgencyRef] = Field(description="Agencies this event brought into being.")
    transfers: list[TransferRead]
    legal_basis: list[LegalBasis]
    sources: list[str]
    verified: bool
    notes: str | None
    origin: Literal["file", "api"] = Field(
        description="`file`: as the shipped data file says; `api`: recorded or corrected "
        "through the API (the seed then leaves it alone)."
    )
    updated_at: LocalDateTime


class ReorganisationPage(Page[ReorganisationRead]):
    pass


class NewAgencyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=32, pattern=CODE, examples=["HP_SKHCN"])
    name: str = Field(min_length=1, max_length=300)
    short_name: str = Field(min_length=1, max_length=120)
    kind: AgencyKind
    parent: str | None = Field(default=None, max_length=32, pattern=CODE)
    note: str | None = Field(default=None, max_length=4000)


# An agency code in a list, with its rule in the contract (not only in a validator).
AgencyCode = Annotated[str, Field(max_length=32, pattern=CODE)]


class _EventFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date
    date_note: str | None = Field(default=None, max_length=1000)
    kind: EventKind
    predecessors: list[AgencyCode] = Field(min_length=1, max_length=200)
    successors: list[AgencyCode] = Field(default=[], max_length=200)
    transfers: list[TransferBody] = Field(default=[], max_length=100)
    legal_basis: list[LegalBasis] = Field(default=[], max_length=50)
    sources: list[str] = Field(default=[], max_length=100)
    verified: bool
    notes: str | None = Field(default=None, max_length=8000)


class ReorganisationCreate(_EventFields):
    code: str = Field(max_length=40, pattern=EVENT_CODE, examples=["HP-2026-01-EXAMPLE"])
    new_agencies: list[NewAgencyBody] = Field(
        default=[], max_length=100, description="Agencies this event brings into being."
    )


# What every event has: a correction leaves them out (unchanged) or gives a value, never
# null (422 `missing`, as the contract says: it does not admit null for them).
_ALWAYS_SET = (
    "date",
    "kind",
    "predecessors",
    "successors",
    "transfers",
    "legal_basis",
    "sources",
    "verified",
)


def _never_null(schema: dict[str, Any]) -> None:
    """The fields of _ALWAYS_SET without their null alternative, nor a null default."""
    for name in _ALWAYS_SET:
        field = schema["properties"][name]
        field.pop("default", None)
        variants = [v for v in field.pop("anyOf", []) if v.get("type") != "null"]
        if len(variants) == 1:
            field.update(variants[0])


class ReorganisationUpdate(BaseModel):
    """Any subset of the event's fields; the lists given replace the stored ones."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_never_null)

    date: dt.date | None = None
    date_note: str | None = Field(default=None, max_length=1000)
    kind: EventKind | None = None
    predecessors: list[AgencyCode] | None = Field(default=None, min_length=1, max_length=200)
    successors: list[AgencyCode] | None = Field(default=None, max_length=200)
    transfers: list[TransferBody] | None = Field(default=None, max_length=100)
    legal_basis: list[LegalBasis] | None = Field(default=None, max_length=50)
    sources: list[str] | None = Field(default=None, max_length=100)
    verified: bool | None = None
    notes: str | None = Field(default=None, max_length=8000)

    @field_validator(*_ALWAYS_SET, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Runs only on values sent (defaults are not validated): an explicit null.
        if value is None:
            raise PydanticCustomError("missing", "Field required")
        return value


class ProvinceSuccession(BaseModel):
    """What became of the plan's issuer and of the department its reports go to."""

    as_of: dt.date
    issuer: ResolvedAgency
    reviewer: ResolvedAgency
    merged: bool = Field(description="True when the issuing province no longer exists as such.")
    statement: str | None = Field(
        description="The merger in words, with its basis, when the province was merged.",
        examples=[
            "Tỉnh Hải Dương đã được sắp xếp vào thành phố Hải Phòng từ ngày 01/07/2025 "
            "(Nghị quyết 202/2025/QH15)."
        ],
    )

"""Reorganisations: dated, cited events that merge, split, rename or end agencies.

The plan names agencies as they stood when it was issued; these rows say what became of
them. They are shared by every plan (an agency's history does not depend on the plan that
names it). An event's agencies are rows of ``reorganisation_agencies`` (predecessors,
successors, and the agencies it introduced); functions or plan items that move without the
whole agency are ``reorganisation_transfers``. ``agencies.valid_from``, ``valid_to`` and
``successor_id`` are derived from these rows (app.services.reorganisations.refresh_validity).
"""

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, PrimaryKeyConstraint
from sqlmodel import Field, SQLModel

from app.models.common import Timestamp, created_at, jsonb_list, updated_at

EVENT_KINDS = ("merge", "split", "rename", "dissolve", "transfer", "level_abolished")
EVENT_ORIGINS = ("file", "api")
EVENT_ROLES = ("predecessor", "successor", "introduced")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Reorganisation(SQLModel, table=True):
    """One event. ``origin`` is ``file`` while the row is what the data file says, ``api``
    once recorded or corrected through the API: the seed then leaves it alone."""

    __tablename__ = "reorganisations"
    __table_args__ = (
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        CheckConstraint(_in("origin", EVENT_ORIGINS), name="origin"),
        CheckConstraint("version >= 1", name="version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    date: dt.date
    date_note: str | None = None
    kind: str = Field(max_length=20)
    # [{number, date, effective, issuer, title, citation, sources, note}], see the data file.
    legal_basis: list[dict[str, Any]] = jsonb_list()
    sources: list[str] = jsonb_list()
    verified: bool
    notes: str | None = None
    # level_abolished: what became of each plan target set at the ended level, see the data
    # file: [{plan, target, outcome, carried_by, verified, reason: {vi, en}, sources, note}].
    level_targets: list[dict[str, Any]] = jsonb_list()
    origin: str = Field(default="file", max_length=8)
    version: int = 1
    # The day the plan items whose `responsible` the event changes were logged for the sync
    # feed (app.services.responsibility_changes); None while its date has not been seen come.
    effect_logged_on: dt.date | None = None
    created_at: Timestamp = created_at()
    updated_at: Timestamp = updated_at()


class ReorganisationAgency(SQLModel, table=True):
    __tablename__ = "reorganisation_agencies"
    __table_args__ = (
        PrimaryKeyConstraint("event_id", "agency_id", "role"),
        CheckConstraint(_in("role", EVENT_ROLES), name="role"),
    )

    event_id: int = Field(foreign_key="reorganisations.id", ondelete="CASCADE")
    agency_id: int = Field(foreign_key="agencies.id", ondelete="RESTRICT", index=True)
    role: str = Field(max_length=16)
    position: int = 0


class ReorganisationTransfer(SQLModel, table=True):
    """Functions or plan items moving from one agency to another. Only a verified transfer
    naming plan items moves those items' responsibility."""

    __tablename__ = "reorganisation_transfers"
    __table_args__ = (PrimaryKeyConstraint("event_id", "position"),)

    event_id: int = Field(foreign_key="reorganisations.id", ondelete="CASCADE")
    position: int
    function: str | None = None
    items: list[str] = jsonb_list()
    from_agency_id: int | None = Field(default=None, foreign_key="agencies.id", ondelete="RESTRICT")
    to_agency_id: int = Field(foreign_key="agencies.id", ondelete="RESTRICT")
    verified: bool
    note: str | None = None

"""The shape of the reorganisation data file (app/data/reorganisations_*.json).

The plan names agencies as they stood when it was issued; the file records, as cited events,
how they were merged, renamed or ended since. Invariants checked before anything uses it:

- every date is an ISO ``YYYY-MM-DD`` string;
- every agency code an event names is an agency of the plan or a new agency introduced by an
  event of the same date or earlier (a predecessor only by an earlier event), and new codes
  never shadow plan codes;
- plan item codes in transfers are items of the plan (sections, tasks, indicators, documents);
- a verified event has at least one legal basis carrying a document number; an unverified one
  says why in its notes (unknowns are recorded, never invented);
- ``level_abolished`` ends district-level agencies only, and only such an event records what
  became of the plan's targets at that level (``level_targets``: district-level targets of the
  plan, each ``carried`` with ``carried_by``, ``no_successor`` or ``unknown``; a verified record
  cites sources, an unverified one has a note, an unknown one is never verified).

``resolve_agency`` follows whole-agency successions up to a date; transfers of single
functions or items never move an agency as a whole and are left to the caller.
"""

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from app.schemas.common import AgencyKind
from app.services.plan_data import DATA_DIR, DEFAULT_PLAN_FILE, PlanFile, read_plan_file

DEFAULT_REORGANISATIONS_FILE = DATA_DIR / "reorganisations_2358.json"

EventKind = Literal["merge", "split", "rename", "dissolve", "transfer", "level_abolished"]
AgencyLevel = Literal["province", "commune"]
CODE_PATTERN = r"^[A-Z0-9_]+$"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` strings (or dates) pass: pydantic alone would accept timestamps."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError(f"not an ISO date (YYYY-MM-DD): {value!r}")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Code = Annotated[str, Field(pattern=CODE_PATTERN, max_length=32)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NewAgency(_Strict):
    """An agency that did not exist when the plan was issued."""

    code: Code
    name: str = Field(min_length=1)
    short_name: str = Field(min_length=1)
    kind: AgencyKind
    level: AgencyLevel
    parent: str | None = None
    note: str | None = None


class LegalBasis(_Strict):
    """A document an event rests on; ``number`` is null when only its existence is known."""

    number: str | None
    date: IsoDate | None
    effective: IsoDate | None = None
    issuer: str = Field(min_length=1)
    title: str = Field(min_length=1)
    citation: str | None = None
    sources: list[str] = []
    note: str | None = None

    @model_validator(mode="after")
    def _unknown_number_explained(self) -> "LegalBasis":
        if self.number is None and not self.note:
            raise ValueError(f"{self.title}: a basis without a number needs a note saying why")
        return self


class Transfer(_Strict):
    """Functions or plan items that move from one agency to another (not the whole agency)."""

    function: str | None = None
    items: list[str] = []
    from_: str | None = Field(default=None, alias="from")
    to: Code
    verified: bool
    note: str | None = None

    @model_validator(mode="after")
    def _says_what_moves(self) -> "Transfer":
        if not self.function and not self.items:
            raise ValueError("a transfer names a function or plan items")
        if not self.verified and not self.note:
            raise ValueError("an unverified transfer needs a note")
        return self


class Bilingual(_Strict):
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


class LevelTarget(_Strict):
    """What became of one plan target set at the level a ``level_abolished`` event ends:
    ``carried`` by another level (``carried_by``), ``no_successor`` (nothing carries it), or
    ``unknown``. A verified record cites its sources; an unknown one is never verified and
    says in its note what was looked for."""

    target: str = Field(min_length=1, max_length=32)
    outcome: Literal["carried", "no_successor", "unknown"]
    carried_by: Literal["province", "commune"] | None = None
    verified: bool
    reason: Bilingual
    sources: list[str] = []
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "LevelTarget":
        problems: list[str] = []
        if (self.outcome == "carried") != (self.carried_by is not None):
            problems.append("carried_by is set exactly when the outcome is carried")
        if self.outcome == "unknown" and self.verified:
            problems.append("an unknown outcome is not verified")
        if self.verified and not self.sources:
            problems.append("a verified record cites its sources")
        if not self.verified and not self.note:
            problems.append("an unverified record needs a note")
        if problems:
            raise ValueError(f"target {self.target}: " + "; ".join(problems))
        return self


class Event(_Strict):
    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9_-]*$", max_length=40)
    date: IsoDate
    date_note: str | None = None
    kind: EventKind
    predecessors: list[Code] = Field(min_length=1)
    successors: list[Code] = []
    new_agencies: list[NewAgency] = []
    transfers: list[Transfer] = []
    legal_basis: list[LegalBasis] = []
    sources: list[str] = []
    verified: bool
    notes: str | None = None
    level_targets: list[LevelTarget] = []

    @model_validator(mode="after")
    def _shape(self) -> "Event":
        problems: list[str] = []
        if self.level_targets and self.kind != "level_abolished":
            problems.append("only a level_abolished event lists level targets")
        targets = [t.target for t in self.level_targets]
        if len(set(targets)) != len(targets):
            problems.append("duplicate level targets")
        if self.kind in ("merge", "split", "rename", "level_abolished") and not self.successors:
            problems.append(f"a {self.kind} has successors")
        if self.kind == "rename" and (len(self.predecessors), len(self.successors)) != (1, 1):
            problems.append("a rename has one predecessor and one successor")
        if self.kind == "transfer" and not self.transfers:
            problems.append("a transfer event lists its transfers")
        if self.verified and not any(b.number for b in self.legal_basis):
            problems.append("a verified event needs a legal basis with a document number")
        if not self.verified and not self.notes:
            problems.append("an unverified event needs notes saying what is unknown")
        if len(set(self.predecessors)) != len(self.predecessors):
            problems.append("duplicate predecessors")
        if problems:
            raise ValueError(f"event {self.code}: " + "; ".join(problems))
        return self


class Unresolved(_Strict):
    """An agency whose fate is unverified, recorded so silence is not read as 'unchanged'."""

    agency: Code
    since: IsoDate | None = None
    note: str = Field(min_length=1)
    searched: list[str] = []


class ReorganisationFile(_Strict):
    format_version: Literal[1]
    plan: str
    notes: list[str] = []
    events: list[Event]
    unresolved: list[Unresolved] = []

    @model_validator(mode="after")
    def _references_resolve(self, info: ValidationInfo) -> "ReorganisationFile":
        """Cross-checks against the plan when validated with a ``plan`` context."""
        context = info.context or {}
        plan_kinds: dict[str, str] | None = context.get("agency_kinds")
        plan_items: set[str] | None = context.get("item_codes")
        target_levels: dict[str, str | None] | None = context.get("target_levels")
        problems: list[str] = []

        codes = [e.code for e in self.events]
        problems.extend(
            f"duplicate event code {c}" for c in sorted({c for c in codes if codes.count(c) > 1})
        )
        introduced: dict[str, date] = {}
        for event in self.events:
            for agency in event.new_agencies:
                if agency.code in introduced or (plan_kinds and agency.code in plan_kinds):
                    problems.append(f"event {event.code}: agency {agency.code} defined twice")
                introduced.setdefault(agency.code, event.date)

        if plan_kinds is not None:
            kinds = plan_kinds
            known = set(kinds) | set(introduced)
            for event in self.events:
                own = {a.code for a in event.new_agencies}

                def before(code: str, *, strictly: bool, event: Event = event) -> bool:
                    if code in kinds:
                        return True
                    since = introduced.get(code)
                    if since is None:
                        return False
                    return since < event.date if strictly else since <= event.date

                for code in event.predecessors:
                    if code in own or not before(code, strictly=True):
                        problems.append(f"event {event.code}: unknown predecessor {code}")
                    elif event.kind == "level_abolished" and kinds.get(code) != "district":
                        problems.append(f"event {event.code}: {code} is not a district-level unit")
                for code in event.successors:
                    if not before(code, strictly=False):
                        problems.append(f"event {event.code}: unknown successor {code}")
                for agency in event.new_agencies:
                    if agency.parent and agency.parent not in known:
                        problems.append(f"event {event.code}: unknown parent {agency.parent}")
                for transfer in event.transfers:
                    for code in [transfer.to] + ([transfer.from_] if transfer.from_ else []):
                        if not before(code, strictly=False):
                            problems.append(f"event {event.code}: unknown transfer agency {code}")
                    if plan_items is not None:
                        problems.extend(
                            f"event {event.code}: unknown plan item {item}"
                            for item in transfer.items
                            if item not in plan_items
                        )
                if target_levels is not None:
                    problems.extend(
                        f"event {event.code}: {t.target} is not a district-level target"
                        for t in event.level_targets
                        if target_levels.get(t.target, "missing") != "district"
                    )
            problems.extend(
                f"unresolved: unknown agency {u.agency}"
                for u in self.unresolved
                if u.agency not in known
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def agency(self, code: str) -> NewAgency | None:
        """The new agency with this code, if an event introduced it."""
        for event in self.events:
            for agency in event.new_agencies:
                if agency.code == code:
                    return agency
        return None


def plan_context(plan: PlanFile) -> dict[str, Any]:
    """Validation context: the plan's agency kinds and item codes."""
    items = {s.code for s in plan.sections} | {t.code for t in plan.tasks}
    items |= {i.code for i in plan.indicators} | {d.code for d in plan.documents}
    return {
        "agency_kinds": {a.code: a.kind for a in plan.agencies},
        "item_codes": items,
        "target_levels": {t.code: t.level for i in plan.indicators for t in i.targets},
    }


def read_reorganisations(
    path: Path = DEFAULT_REORGANISATIONS_FILE, plan_path: Path = DEFAULT_PLAN_FILE
) -> ReorganisationFile:
    """Load and validate the file against the plan it describes."""
    raw: Any = json.loads(path.read_text(encoding="utf-8"))
    return ReorganisationFile.model_validate(raw, context=plan_context(read_plan_file(plan_path)))


def reorganisations_beside(plan_path: Path) -> ReorganisationFile | None:
    """The reorganisations of the plan in ``plan_path``: ``reorganisations_X.json`` beside
    ``plan_X.json``, validated against that plan; None when there is no such file."""
    name = plan_path.name
    if not name.startswith("plan_"):
        return None
    path = plan_path.with_name("reorganisations_" + name.removeprefix("plan_"))
    if not path.exists():
        return None
    return read_reorganisations(path, plan_path)


@dataclass(frozen=True)
class Resolution:
    """The agencies carrying a code's responsibilities on a date, and the events leading there."""

    agencies: tuple[str, ...]
    path: tuple[str, ...]


def resolve_agency(data: ReorganisationFile, code: str, on: date) -> Resolution:
    """Follow whole-agency successions (every kind but ``transfer``) dated on or before ``on``.

    Events apply in date order, file order within a date; an agency that is both predecessor and
    successor (a department absorbing another under its own name) stays. A ``dissolve`` without
    successors leaves nothing: the caller reports "no successor".
    """
    current: list[str] = [code]
    path: list[str] = []
    for event in sorted(data.events, key=lambda e: e.date):  # stable: file order within a date
        if event.date > on or event.kind == "transfer":
            continue
        ended = [c for c in event.predecessors if c in current and c not in event.successors]
        if not ended:
            continue
        current = [c for c in current if c not in ended]
        current += [s for s in event.successors if s not in current]
        path.append(event.code)
    return Resolution(agencies=tuple(current), path=tuple(path))

"""The shape of the plan data file (app/data/plan_*.json), validated before anything loads."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.schemas.common import AgencyKind

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEFAULT_PLAN_FILE = DATA_DIR / "plan_2358.json"

Role = Literal["lead", "coordinating"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgencyData(_Strict):
    code: str = Field(pattern=r"^[A-Z0-9_]+$", max_length=32)
    name: str
    short_name: str
    kind: AgencyKind
    aliases: list[str] = []
    parent: str | None = None
    members: list[str] = []
    note: str | None = None


class SectionLeadData(_Strict):
    agency: str
    role: Role
    bullets: list[int] | None = None
    source: str | None = None
    note: str | None = None


class SectionData(_Strict):
    code: str
    parent: str | None
    level: int = Field(ge=1, le=3)
    number: str
    title: str | None
    text: str | None
    bullets: list[str] = []
    leads: list[SectionLeadData] = []
    lead_note: str | None = None
    agencies: list[str] = []


class TargetData(_Strict):
    code: str
    metric: str
    kind: Literal["numeric", "qualitative"]
    comparator: Literal["gte", "gt", "eq", "lte"] | None
    value: Decimal | None
    unit: str | None
    level: Literal["province", "district", "commune"] | None
    deadline_year: int
    baseline: Decimal | None = None
    text: str

    @model_validator(mode="after")
    def _numeric_has_value(self) -> "TargetData":
        if (self.kind == "numeric") != (self.value is not None and self.comparator is not None):
            raise ValueError(f"{self.code}: numeric targets need value and comparator")
        return self


class IndicatorData(_Strict):
    code: str
    target_year: int
    number: int
    text: str
    lead: list[str]
    lead_text: str
    coordinating: list[str]
    coordinating_text: str
    lead_note: str | None = None
    footnotes: list[str] = []
    targets: list[TargetData] = Field(min_length=1)


class DocumentData(_Strict):
    number: int
    code: str
    title: str
    lead: list[str]
    lead_text: str
    coordinating: list[str]
    coordinating_text: str
    type: str
    recurrence: Literal["once", "annual"] = "once"
    note: str | None = None


class TaskGroupData(_Strict):
    code: str
    parent: str | None
    title: str


class TaskData(_Strict):
    code: str
    group: str
    subgroup: str | None
    parent: str | None
    number: str
    title: str
    full_text: str
    deliverables: list[str] = []
    lead: list[str]
    lead_text: str
    coordinating: list[str] = []
    lead_note: str | None = None
    start_year: int | None
    end_year: int | None
    recurrence: Literal["once", "annual"]
    source_section: str | None = None
    note: str | None = None


class CorrectionData(_Strict):
    location: str
    original: str
    corrected: str
    reason: str | None = None


class PlanData(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    code: str
    title: str
    issuer: str
    issued_on: str
    start_year: int
    end_year: int


class PlanFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: Literal[1]
    source: str
    plan: PlanData
    agencies: list[AgencyData]
    sections: list[SectionData]
    indicators: list[IndicatorData]
    documents: list[DocumentData]
    task_groups: list[TaskGroupData]
    tasks: list[TaskData]
    corrections: list[CorrectionData] = []
    notes: list[str] = []

    @model_validator(mode="after")
    def _references_resolve(self) -> "PlanFile":
        agencies = {a.code for a in self.agencies}
        problems: list[str] = []

        def check(where: str, codes: list[str]) -> None:
            problems.extend(f"{where}: unknown agency {c}" for c in codes if c not in agencies)

        for agency in self.agencies:
            check(
                f"agency {agency.code}", agency.members + ([agency.parent] if agency.parent else [])
            )
        for section in self.sections:
            check(
                f"section {section.code}",
                [lead.agency for lead in section.leads] + section.agencies,
            )
        for indicator in self.indicators:
            check(f"indicator {indicator.code}", indicator.lead + indicator.coordinating)
        for document in self.documents:
            check(f"document {document.code}", document.lead + document.coordinating)
        for task in self.tasks:
            check(f"task {task.code}", task.lead + task.coordinating)
        for name, codes in (
            ("agency", [a.code for a in self.agencies]),
            ("section", [s.code for s in self.sections]),
            ("indicator", [i.code for i in self.indicators]),
            ("document", [d.code for d in self.documents]),
            ("task group", [g.code for g in self.task_groups]),
            ("task", [t.code for t in self.tasks]),
        ):
            duplicates = {c for c in codes if codes.count(c) > 1}
            problems.extend(f"duplicate {name} code {c}" for c in sorted(duplicates))
        if problems:
            raise ValueError("; ".join(problems))
        return self


def read_plan_file(path: Path = DEFAULT_PLAN_FILE) -> PlanFile:
    raw: Any = json.loads(path.read_text(encoding="utf-8"))
    return PlanFile.model_validate(raw)

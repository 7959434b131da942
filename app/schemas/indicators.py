"""Indicator contracts (Phụ lục 1)."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import AgencyRef, Page
from app.schemas.reorganisations import EventStep, Responsibility

_VPUBND = {
    "code": "VPUBND",
    "name": "Văn phòng UBND tỉnh",
    "short_name": "VP UBND tỉnh",
    "kind": "office",
}


class ValuePointRead(BaseModel):
    value: float | None = Field(examples=[92.5])
    achieved: bool | None = Field(examples=[None])
    as_of: date
    level: Literal["province", "district", "commune"] | None
    district: str | None = Field(
        description="District-level agency code, when for one.", examples=[None]
    )
    provenance: Literal["self_reported", "verified", "measured"]
    source: str = Field(examples=["Hệ thống quản lý văn bản và điều hành của tỉnh"])
    period: str = Field(examples=["annual-2026"])


class Bilingual(BaseModel):
    vi: str
    en: str


class LevelSuccession(BaseModel):
    """What became of a target set at a level of government that has since ended (the
    district level, “cấp huyện”, from 1 July 2025), on the day asked (`as_of=`)."""

    level: Literal["province", "district", "commune"] = Field(
        description="The level that ended (the target's level).", examples=["district"]
    )
    ended_on: date = Field(
        description="The day the level ended: the date of the event that ended it.",
        examples=["2025-07-01"],
    )
    event: EventStep = Field(description="The `level_abolished` event, with its legal basis.")
    outcome: Literal["carried", "no_successor", "unknown"] = Field(
        description="carried: another level carries the measure (`carried_by`); no_successor: "
        "no level carries it; unknown: not established (see `note`)."
    )
    carried_by: Literal["province", "commune"] | None = Field(
        description="The level now carrying the measure when `carried` (province: the "
        "province-level city of Hải Phòng from 1 July 2025); otherwise null.",
        examples=[None],
    )
    verified: bool = Field(description="Whether the outcome rests on the cited sources.")
    reason: Bilingual
    sources: list[str] = Field(description="Where the outcome was read.", examples=[[]])
    note: str | None = Field(
        description="What the outcome rests on, and what was looked for when unknown.",
        examples=[None],
    )


class TargetRead(BaseModel):
    code: str = Field(examples=["CT-2025-01.1"])
    metric: str = Field(examples=["Hồ sơ công việc được xử lý trên môi trường mạng"])
    kind: Literal["numeric", "qualitative"]
    comparator: Literal["gte", "gt", "eq", "lte"] | None = Field(
        description="gte: at least; gt: more than; eq: exactly; lte: at most."
    )
    value: float | None = Field(examples=[90])
    unit: str | None = Field(examples=["percent"])
    level: Literal["province", "district", "commune"] | None
    deadline_year: int = Field(examples=[2025])
    baseline: float | None = Field(examples=[None])
    text: str = Field(
        description="The words of the plan this target was read from.",
        examples=["90% hồ sơ công việc tại cấp tỉnh"],
    )
    attainment: Literal["met", "not_met", "no_data", "not_applicable"] = Field(
        description="From the latest approved province-wide value; `not_applicable` for a "
        "target whose level ended before its deadline, judged on or after that day "
        "(`attainment_reason`); rules in the API description."
    )
    progress_ratio: float | None = Field(
        description="0-1 when not met (numeric targets).", examples=[None]
    )
    attainment_reason: Bilingual | None = Field(
        default=None,
        description="Why attainment is not judged (with `not_applicable`); otherwise null.",
        examples=[None],
    )
    level_succession: LevelSuccession | None = Field(
        default=None,
        description="For a target set at a level that had ended by `as_of` (default today): "
        "the event and what carries the measure now; null otherwise.",
        examples=[None],
    )
    series: list[ValuePointRead] = Field(
        description="Bounded, whatever the history: for each level and district, the latest "
        "approved value of each year (of its `as_of` date), oldest first. Every approved "
        "value, newest first, is at `values_url`."
    )
    series_complete: bool = Field(
        description="True when `series` holds every approved value of this target; false "
        "when some year had more than one value for a level or district (the earlier ones "
        "are only at `values_url`)."
    )
    values_url: str = Field(
        description="Every approved value of this target, paged: `GET /indicators/{code}/values"
        "?target=`.",
        examples=["/api/v1/indicators/CT-2025-01/values?target=CT-2025-01.1"],
    )


class IndicatorRead(BaseModel):
    code: str = Field(examples=["CT-2025-01"])
    target_year: int = Field(examples=[2025])
    number: int = Field(examples=[1])
    text: str = Field(
        examples=[
            "90% hồ sơ công việc tại cấp tỉnh; 80% hồ sơ công việc tại cấp huyện và 70% hồ sơ "
            "công việc tại cấp xã được xử lý trên môi trường mạng (trừ hồ sơ công việc thuộc "
            "phạm vi bí mật nhà nước)"
        ]
    )
    lead: list[AgencyRef] = Field(examples=[[_VPUBND]])
    coordinating: list[AgencyRef]
    lead_text: str = Field(examples=["VP UBND tỉnh"])
    coordinating_text: str = Field(examples=["Sở TTTT"])
    lead_note: str | None = Field(examples=[None])
    footnotes: list[str] = Field(examples=[[]])
    targets: list[TargetRead]
    responsible: Responsibility | None = Field(
        default=None,
        description="Who carries the plan's lead and coordinating roles on `as_of` (default "
        "today), through the recorded reorganisations; `lead`/`coordinating` stay as the plan "
        "wrote them.",
    )


class IndicatorPage(Page[IndicatorRead]):
    pass


class ApprovedValueRead(ValuePointRead):
    """One approved value of one of the indicator's targets."""

    target: str = Field(description="The target's code.", examples=["CT-2025-01.1"])


class ApprovedValuePage(Page[ApprovedValueRead]):
    pass

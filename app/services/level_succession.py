"""Targets set at a level of government that has ended: what carries them, and whether their
attainment is still judged.

The plan sets some indicator targets at district level (“cấp huyện”). A ``level_abolished``
event ends every district-level unit (in the shipped data VN-2025-07-HUYEN, 1 July 2025:
Resolution 203/2025/QH15 and Law 72/2025/QH15); its date is read from the recorded events,
never written here. On a day from the event's date on (``as_of=``, default today, as for
``responsible``), each target of the ended level answers ``level_succession``: the event, and
what became of the target as the event's ``level_targets`` record it (``carried`` by another
level, ``no_successor``, or ``unknown`` when nothing is recorded). Before that day the target
answers as it always did.

Attainment keeps a meaning only where the target was due while its level existed: a target of
the ended level whose deadline (31 December of its deadline year) is on or after the day the
level ended is ``not_applicable`` when judged from that day on, with the reason in vi/en. Its
approved values are kept and shown as before; nothing is deleted or rewritten.
"""

from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel

from app.schemas.common import Page
from app.schemas.indicators import Bilingual, LevelSuccession, TargetRead
from app.services.lineage import EventNode, Lineage, Resolver

AnswerT = TypeVar("AnswerT", bound=BaseModel)

# The agency kind whose units a level_abolished event ends → the target level it ends.
LEVEL_OF_KIND = {"district": "district"}
LEVEL_NAMES = {"district": ("cấp huyện", "district level")}


def level_ends(lineage: Lineage) -> dict[str, EventNode]:
    """Each ended target level → the first ``level_abolished`` event ending its units."""
    ends: dict[str, EventNode] = {}
    for event in lineage.events:  # by date, then as recorded
        if event.kind != "level_abolished":
            continue
        kinds = {lineage.agencies[c].kind for c in event.predecessors if c in lineage.agencies}
        if len(kinds) == 1 and (level := LEVEL_OF_KIND.get(kinds.pop())) is not None:
            ends.setdefault(level, event)
    return ends


def _d(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _unrecorded(level: str, ended_on: date) -> Bilingual:
    vi, en = LEVEL_NAMES[level]
    return Bilingual(
        vi=f"{vi.capitalize()} kết thúc hoạt động từ ngày {_d(ended_on)}; chưa có dữ liệu về "
        "cấp nào tiếp nhận chỉ tiêu này.",
        en=f"The {en} ended on {ended_on.isoformat()}; no record says which level now carries "
        "this target.",
    )


def succession(
    lineage: Lineage, plan_code: str, target: str, level: str | None, on: date
) -> LevelSuccession | None:
    """What became of ``target`` (of the plan ``plan_code``, set at ``level``) on ``on``;
    None while its level stands (or has not ended by ``on``)."""
    if level is None:
        return None
    event = level_ends(lineage).get(level)
    if event is None or event.date > on:
        return None
    record: dict[str, Any] = next(
        (t for t in event.level_targets if t.get("plan") == plan_code and t["target"] == target),
        {},
    )
    return LevelSuccession(
        level=level,
        ended_on=event.date,
        event=event.step,
        outcome=record.get("outcome", "unknown"),
        carried_by=record.get("carried_by"),
        verified=record.get("verified", False),
        reason=Bilingual.model_validate(record["reason"])
        if record
        else _unrecorded(level, event.date),
        sources=record.get("sources", []),
        note=record.get("note"),
    )


def attainment_reason(
    level_succession: LevelSuccession | None, deadline_year: int
) -> Bilingual | None:
    """Why attainment is not judged, or None when it still is: the target's level ended on or
    before its deadline (31 December of the deadline year)."""
    if level_succession is None:
        return None
    ended_on = level_succession.ended_on
    if ended_on > date(deadline_year, 12, 31):
        return None
    vi, en = LEVEL_NAMES[level_succession.level]
    basis = ", ".join(level_succession.event.legal_basis)
    return Bilingual(
        vi=f"Không đánh giá mức đạt: {vi} kết thúc hoạt động từ ngày {_d(ended_on)}"
        + (f" ({basis})" if basis else "")
        + f", trước hạn của chỉ tiêu (năm {deadline_year}). Các giá trị đã được duyệt "
        "vẫn được giữ nguyên.",
        en=f"Attainment is not judged: the {en} ended on {ended_on.isoformat()}"
        + (f" ({basis})" if basis else "")
        + f", before the target's deadline ({deadline_year}). The approved values are kept.",
    )


def judge(target: TargetRead, lineage: Lineage, plan_code: str, on: date) -> None:
    """Set ``level_succession`` on one target and, where attainment has lost its meaning,
    ``attainment`` = ``not_applicable`` with ``attainment_reason``."""
    target.level_succession = succession(lineage, plan_code, target.code, target.level, on)
    reason = attainment_reason(target.level_succession, target.deadline_year)
    if reason is not None:
        target.attainment = "not_applicable"
        target.progress_ratio = None
        target.attainment_reason = reason


def attach(resolver: Resolver, plan_code: str, answer: AnswerT) -> AnswerT:
    """Judge every target of an indicator answer (one indicator or a page) on the resolver's
    day (``as_of=``, default today)."""
    items: list[Any] = answer.items if isinstance(answer, Page) else [answer]
    for item in items:
        for target in getattr(item, "targets", None) or []:
            judge(target, resolver.lineage, plan_code, resolver.on)
    return answer


def judged_status(
    lineage: Lineage,
    plan_code: str,
    target: str,
    level: str | None,
    deadline_year: int,
    on: date,
    status: str,
) -> str:
    """The attainment status a count shows (dashboard, scorecards): ``status`` as computed,
    or ``not_applicable`` by the rule above."""
    ended = succession(lineage, plan_code, target, level, on)
    return status if attainment_reason(ended, deadline_year) is None else "not_applicable"

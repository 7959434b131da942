"""Long or cyclic chains cannot exhaust the stack (a RecursionError would be a 500): the
succession-cycle check and the resolution of nested groups are iterative."""

import sys
from datetime import date
from types import SimpleNamespace
from typing import Any

from app.schemas.common import AgencyRef
from app.schemas.reorganisations import EventStep
from app.services.lineage import MAX_KEPT_ANSWERS, EventNode, Lineage, TransferNode
from app.services.reorganisations import _date_and_cycle_errors

DEPTH = sys.getrecursionlimit() * 3


def _ref(code: str) -> AgencyRef:
    return AgencyRef(code=code, name=code, short_name=code, kind="department")


class _Rows:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def all(self) -> list[Any]:
        return self.rows

    def scalars(self) -> list[Any]:
        return self.rows


class _Session:
    """Answers the two reads of `_date_and_cycle_errors`: the other events, then their
    agencies."""

    def __init__(self, events: list[Any], links: list[Any]) -> None:
        self.answers = [events, links]

    async def execute(self, _statement: Any) -> _Rows:
        return _Rows(self.answers.pop(0))


def _chain_session(length: int) -> tuple[_Session, dict[str, tuple[int, str]]]:
    """Events renaming A0 → A1 → … → A<length>, one a day."""
    known = {f"A{i}": (i + 1, "department") for i in range(length + 1)}
    events = [(i + 1, date(2000, 1, 1), "rename") for i in range(length)]
    links = [
        SimpleNamespace(event_id=i + 1, agency_id=known[f"A{i + j}"][0], role=role)
        for i in range(length)
        for j, role in ((0, "predecessor"), (1, "successor"))
    ]
    return _Session(events, links), known


def _fields(predecessor: str, successor: str) -> dict[str, Any]:
    return {
        "date": date(2001, 1, 1),
        "kind": "rename",
        "predecessors": [predecessor],
        "successors": [successor],
        "transfers": [],
    }


async def test_a_cycle_closing_a_long_chain_is_found() -> None:
    session, known = _chain_session(DEPTH)
    errors = await _date_and_cycle_errors(
        session,  # type: ignore[arg-type]
        _fields(f"A{DEPTH}", "A0"),
        event_id=None,
        known=known,
        here=[],
    )
    assert errors == [("successors", "succession_cycle")]


async def test_a_long_chain_without_a_cycle_passes() -> None:
    session, known = _chain_session(DEPTH)
    known["NEW"] = (0, "department")
    errors = await _date_and_cycle_errors(
        session,  # type: ignore[arg-type]
        _fields(f"A{DEPTH}", "NEW"),
        event_id=None,
        known=known,
        here=[],
    )
    assert errors == []


def test_cyclic_group_membership_resolves() -> None:
    agencies = {c: _ref(c) for c in ("G1", "G2", "A", "B")}
    lineage = Lineage(agencies=agencies, members={"G1": ("G2", "A"), "G2": ("G1", "B")}, events=[])
    resolved = lineage.resolve("G1", date(2025, 1, 1))
    assert [a.code for a in resolved.responsible] == ["B", "A"]
    assert [m.agency.code for m in resolved.members or []] == ["G2", "A"]
    inner = (resolved.members or [])[0]
    assert [m.agency.code for m in inner.members or []] == ["B"]


def test_deeply_nested_groups_resolve() -> None:
    codes = [f"G{i}" for i in range(DEPTH)]
    agencies = {c: _ref(c) for c in [*codes, "A"]}
    members = {codes[i]: (codes[i + 1],) for i in range(DEPTH - 1)} | {codes[-1]: ("A",)}
    lineage = Lineage(agencies=agencies, members=members, events=[])
    resolved = lineage.resolve("G0", date(2025, 1, 1))
    assert [a.code for a in resolved.responsible] == ["A"]


def _merger(on: date, moved: frozenset[str]) -> Lineage:
    """A and B merge into C on ``on``; a verified transfer moves items ``moved`` from A to D."""
    step = EventStep(code="E", date=on, kind="merge", legal_basis=[], verified=True)
    event = EventNode(
        code="E",
        date=on,
        kind="merge",
        predecessors=("A", "B"),
        successors=("C",),
        transfers=(TransferNode(items=moved, from_="A", to="D", verified=True),),
        step=step,
    )
    return Lineage(agencies={c: _ref(c) for c in "ABCD"}, members={}, events=[event])


def test_shared_answers_keep_item_transfers_and_days_apart() -> None:
    lineage = _merger(date(2025, 3, 1), frozenset({"X"}))
    a, b = [_ref("A")], [_ref("B")]
    before, after = date(2025, 1, 1), date(2025, 6, 1)
    moved = lineage.responsibility("X", a, b, after)
    kept = lineage.responsibility("Y", a, b, after)
    assert [a.code for a in moved.lead[0].responsible] == ["D"]
    assert [a.code for a in kept.lead[0].responsible] == ["C"]
    assert [a.code for a in lineage.responsibility("X", a, b, before).lead[0].responsible] == ["A"]
    # Items the transfers do not name share one answer; asking again gives the same.
    assert lineage.responsibility("Z", a, b, after) is kept
    assert lineage.responsibility("X", a, b, after) is moved
    assert lineage.responsibility("Z", b, a, after) is not kept


def test_shared_answers_are_bounded() -> None:
    lineage = _merger(date(2025, 3, 1), frozenset())
    for day in range(MAX_KEPT_ANSWERS + 10):
        lineage.responsibility(
            None, [_ref("A")], [], date.fromordinal(date(2000, 1, 1).toordinal() + day)
        )
    assert len(lineage._answers) <= MAX_KEPT_ANSWERS

"""Who carries a plan item's roles on a date: the recorded reorganisations as an in-memory graph.

The graph (every agency, group membership, event and transfer: a few hundred rows) is read in
five queries and kept per process against the data version (``data_version.version`` and the
transaction that set it), which every change to the tables behind it moves (migrations 0008 and
0015). A request then resolves all its rows from memory: no query per row.

Resolution of an agency ``A`` for an item on day ``D`` (events on or before ``D``, in date
order, the order they were recorded within a date):

- first the event's verified transfers naming the item: when the agency they move it from is
  among those currently responsible, the item moves to the transfer's target (unverified
  transfers never move an item: they are the national pattern, not a local decision);
- then the succession: every responsible agency the event ends (a predecessor that is not also
  a successor) is replaced by the event's successors; a ``transfer`` event ends no agency.

A group (“các sở, ban, ngành”) that no event names resolves through its members; its
``responsible`` is the union of theirs, in member order. An agency that ended without a
successor resolves to nothing, and the path says which event ended it.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import (
    Agency,
    AgencyGroupMember,
    Reorganisation,
    ReorganisationAgency,
    ReorganisationTransfer,
)
from app.schemas.common import AgencyRef, Page
from app.schemas.reorganisations import EventStep, ResolvedAgency, Responsibility

AnswerT = TypeVar("AnswerT", bound=BaseModel)
MAX_KEPT_ANSWERS = 4096  # responsibility() answers kept per graph


@dataclass(frozen=True)
class TransferNode:
    items: frozenset[str]
    from_: str | None
    to: str
    verified: bool


@dataclass(frozen=True)
class EventNode:
    code: str
    date: date
    kind: str
    predecessors: tuple[str, ...]
    successors: tuple[str, ...]
    transfers: tuple[TransferNode, ...]
    step: EventStep
    # level_abolished: what became of the plans' targets at the ended level (as stored).
    level_targets: tuple[dict[str, Any], ...] = ()


@dataclass
class Lineage:
    agencies: dict[str, AgencyRef]
    members: dict[str, tuple[str, ...]]
    events: list[EventNode]  # by date, then as recorded
    named: set[str] = field(default_factory=set)  # agencies some event names
    # Items some verified transfer names: only their resolution depends on the item.
    moved: set[str] = field(default_factory=set)
    # responsibility() answers already built, by (item if moved, lead, coordinating, day):
    # a pure function of this graph, which is replaced, never changed, when the data moves.
    _answers: dict[tuple[Any, ...], "Responsibility"] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for event in self.events:
            self.named.update(event.predecessors)
            for transfer in event.transfers:
                if transfer.verified:
                    self.moved.update(transfer.items)

    def resolve(self, code: str, on: date, item: str | None = None) -> ResolvedAgency:
        """``code`` resolved on ``on``; a group through its members, depth first. Iterative
        (an explicit stack), so nested groups of any depth cannot raise RecursionError; a
        member that is a group already being resolved further up (cyclic membership) is
        skipped, as it contributes nothing its own resolution does not."""
        if not self._is_group(code):
            return self._agency(code, on, item)
        # Frames: (group, members still to resolve, members resolved so far).
        stack: list[tuple[str, list[str], list[ResolvedAgency]]] = [
            (code, list(self.members[code]), [])
        ]
        on_path = {code}
        while True:
            group, pending, done = stack[-1]
            if pending:
                member = pending.pop(0)
                if member in on_path:
                    continue
                if self._is_group(member):
                    on_path.add(member)
                    stack.append((member, list(self.members[member]), []))
                else:
                    done.append(self._agency(member, on, item))
                continue
            stack.pop()
            on_path.discard(group)
            union: dict[str, AgencyRef] = {}
            for resolved in done:
                for agency in resolved.responsible:
                    union.setdefault(agency.code, agency)
            node = ResolvedAgency(
                agency=self.agencies[group], responsible=list(union.values()), path=[], members=done
            )
            if not stack:
                return node
            stack[-1][2].append(node)

    def _is_group(self, code: str) -> bool:
        """A group (“các sở, ban, ngành”) that no event names resolves through its members."""
        return bool(self.members.get(code)) and code not in self.named

    def _agency(self, code: str, on: date, item: str | None) -> ResolvedAgency:
        current, path = self.chain(code, on, item)
        return ResolvedAgency(
            agency=self.agencies[code], responsible=[self.agencies[c] for c in current], path=path
        )

    def chain(
        self, code: str, on: date, item: str | None = None
    ) -> tuple[list[str], list[EventStep]]:
        """The codes responsible on ``on`` and the events applied, for one agency."""
        current = [code]
        path: list[EventStep] = []
        for event in self.events:
            if event.date > on:
                break
            applied = False
            if item is not None:
                for transfer in event.transfers:
                    if not transfer.verified or item not in transfer.items:
                        continue
                    sources = [transfer.from_] if transfer.from_ else list(event.predecessors)
                    moved = [c for c in current if c in sources]
                    if moved:
                        current = [c for c in current if c not in moved]
                        if transfer.to not in current:
                            current.append(transfer.to)
                        applied = True
            if event.kind != "transfer":
                ended = [
                    c for c in current if c in event.predecessors and c not in event.successors
                ]
                if ended:
                    current = [c for c in current if c not in ended]
                    current += [s for s in event.successors if s not in current]
                    applied = True
            if applied:
                path.append(event.step)
        return current, path

    def responsibility(
        self, item: str | None, lead: list[AgencyRef], coordinating: list[AgencyRef], on: date
    ) -> Responsibility:
        """Who carries the roles of ``item`` on ``on``. Items that name the same agencies
        share one answer (a page of plan items names a few dozen agencies in all), built
        once per graph and day: answers are serialised, never changed after."""
        key = (
            item if item in self.moved else None,
            tuple(a.code for a in lead),
            tuple(a.code for a in coordinating),
            on,
        )
        answer = self._answers.get(key)
        if answer is None:
            if len(self._answers) >= MAX_KEPT_ANSWERS:  # `as_of=` is the caller's: bounded
                self._answers.clear()
            answer = self._answers[key] = Responsibility(
                as_of=on,
                lead=[self.resolve(code, on, item) for code in key[1]],
                coordinating=[self.resolve(code, on, item) for code in key[2]],
            )
        return answer


@dataclass(frozen=True)
class Resolver:
    """The graph and the date a request asks about; what services are handed."""

    lineage: Lineage
    on: date

    def of(self, item: str | None, links: dict[str, list[AgencyRef]]) -> Responsibility:
        return self.lineage.responsibility(
            item, links.get("lead", []), links.get("coordinating", []), self.on
        )

    def agency(self, code: str) -> ResolvedAgency:
        return self.lineage.resolve(code, self.on)

    def attach(self, answer: AnswerT) -> AnswerT:
        """Set ``responsible`` on an answer: one plan item, or each item of a page. Items name
        their plan agencies in ``lead`` and ``coordinating`` (a section's detail lists its
        coordinating agencies among ``agencies``); an agency the graph does not know (added
        since it was read) is left as the plan names it."""
        items: list[Any] = answer.items if isinstance(answer, Page) else [answer]
        for item in items:
            coordinating = getattr(item, "coordinating", None)
            if coordinating is None:
                coordinating = [
                    link.agency
                    for link in getattr(item, "agencies", [])
                    if link.role == "coordinating"
                ]
            item.responsible = self.lineage.responsibility(
                item.code,
                [a for a in item.lead if a.code in self.lineage.agencies],
                [a for a in coordinating if a.code in self.lineage.agencies],
                self.on,
            )
        return answer


async def read_lineage(session: AsyncSession) -> Lineage:
    """The graph as stored, read now (five queries)."""
    agencies = {
        a.code: AgencyRef(code=a.code, name=a.name, short_name=a.short_name, kind=a.kind)
        for a in (await session.execute(select(Agency))).scalars()
    }
    codes = {
        agency_id: code
        for agency_id, code in (await session.execute(select(col(Agency.id), col(Agency.code))))
    }
    members: dict[str, list[str]] = {}
    rows = await session.execute(
        select(col(AgencyGroupMember.group_id), col(AgencyGroupMember.member_id))
        .join(Agency, col(Agency.id) == col(AgencyGroupMember.member_id))
        .order_by(col(AgencyGroupMember.group_id), col(Agency.sort_order), col(Agency.id))
    )
    for group_id, member_id in rows:
        members.setdefault(codes[group_id], []).append(codes[member_id])
    links: dict[int, dict[str, list[str]]] = {}
    for event_id, agency_id, role in await session.execute(
        select(
            col(ReorganisationAgency.event_id),
            col(ReorganisationAgency.agency_id),
            col(ReorganisationAgency.role),
        ).order_by(col(ReorganisationAgency.event_id), col(ReorganisationAgency.position))
    ):
        links.setdefault(event_id, {}).setdefault(role, []).append(codes[agency_id])
    transfers: dict[int, list[TransferNode]] = {}
    for row in (
        await session.execute(
            select(ReorganisationTransfer).order_by(
                col(ReorganisationTransfer.event_id), col(ReorganisationTransfer.position)
            )
        )
    ).scalars():
        transfers.setdefault(row.event_id, []).append(
            TransferNode(
                items=frozenset(row.items),
                from_=codes[row.from_agency_id] if row.from_agency_id else None,
                to=codes[row.to_agency_id],
                verified=row.verified,
            )
        )
    events = []
    for event in (
        await session.execute(
            select(Reorganisation).order_by(col(Reorganisation.date), col(Reorganisation.id))
        )
    ).scalars():
        own = links.get(event.id or 0, {})
        events.append(
            EventNode(
                code=event.code,
                date=event.date,
                kind=event.kind,
                predecessors=tuple(own.get("predecessor", [])),
                successors=tuple(own.get("successor", [])),
                transfers=tuple(transfers.get(event.id or 0, [])),
                step=EventStep(
                    code=event.code,
                    date=event.date,
                    kind=event.kind,
                    legal_basis=[b["number"] for b in event.legal_basis if b.get("number")],
                    verified=event.verified,
                ),
                level_targets=tuple(event.level_targets),
            )
        )
    return Lineage(
        agencies=agencies, members={g: tuple(m) for g, m in members.items()}, events=events
    )


_VERSION = text("SELECT version, txid FROM data_version")
_CACHE: dict[str, tuple[Any, Lineage]] = {}
_SESSION_VERSION = "dxplan.data_version"  # session.info: (transaction, version read in it)


async def data_version(session: AsyncSession) -> tuple[Any, ...]:
    """The data version (version, transaction that set it) as the session's current
    transaction first read it: one read per transaction, however many process caches are
    keyed by it (the plan, this graph, the plan's tasks). What the transaction reads after it
    is as new as it or newer, so an entry read then is never staler than its key."""
    transaction = session.sync_session.get_transaction()
    kept = session.info.get(_SESSION_VERSION)
    if kept is not None and transaction is not None and kept[0] is transaction:
        return kept[1]  # type: ignore[no-any-return]
    version = tuple((await session.execute(_VERSION)).one())
    session.info[_SESSION_VERSION] = (session.sync_session.get_transaction(), version)
    return version


async def load_lineage(session: AsyncSession) -> Lineage:
    """The graph, from the process cache while the data version stands.

    Read the version first, then the graph: a graph read after the version is as new as it
    or newer, so an entry is never staler than its key. Not for a transaction that has just
    changed the events itself (its changes are not in the version until it commits): that one
    calls ``read_lineage``."""
    version = await data_version(session)
    bind: Any = session.get_bind()
    key = bind.engine.url.render_as_string(hide_password=True)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    lineage = await read_lineage(session)
    _CACHE[key] = (version, lineage)
    return lineage

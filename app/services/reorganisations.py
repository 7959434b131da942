"""Reorganisation events: reading, recording and correcting them, and what they imply for the
agencies' own validity.

Invariants kept on every write (the seed and the API alike):

- an event names known agencies (or ones it introduces itself), and a predecessor existed
  before the event (it was not introduced on or after the event's date);
- successions never loop: no agency succeeds, directly or through later events, an agency it
  was itself succeeded by;
- ``agencies.valid_from``, ``valid_to`` and ``successor_id`` are derived from the events
  (``refresh_validity``): an agency is valid from the date of the event that introduced it
  and until the day before the first event that ended it (a predecessor that is not also a
  successor, in any kind but ``transfer``); its successor is that event's successor when it
  has exactly one.
"""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, literal_column, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import (
    ConflictError,
    FieldValidationError,
    NotFoundError,
    UnknownFilterValueError,
)
from app.core.http import check_if_match, etag
from app.core.pagination import SortKey, encode_cursor
from app.models import (
    Agency,
    Document,
    Indicator,
    Reorganisation,
    ReorganisationAgency,
    ReorganisationTransfer,
    Section,
    Task,
    User,
)
from app.schemas.common import AgencyRef
from app.schemas.reorganisations import (
    LegalBasis,
    ReorganisationCreate,
    ReorganisationPage,
    ReorganisationRead,
    ReorganisationUpdate,
    TransferBody,
    TransferRead,
)
from app.services import audit
from app.services.common import agency_ref
from app.services.ended_agencies import today_in_vietnam
from app.services.lineage import read_lineage
from app.services.responsibility_changes import log_responsibility_changes, mark_logged
from app.services.search_index import index_text

NEW_AGENCY_SORT_BASE = 10_000  # after every plan's agencies, in the order events bring them
_ORDINAL: Any = literal_column("(reorganisations.date - DATE '0001-01-01' + 1)")


def event_etag(event: Reorganisation) -> str:
    return etag("reorganisation", event.id or 0, event.version)


# Reading -----------------------------------------------------------------------------------


async def read_events(
    session: AsyncSession, events: list[Reorganisation]
) -> list[ReorganisationRead]:
    ids = [e.id or 0 for e in events]
    refs = {a.id: agency_ref(a) for a in (await session.execute(select(Agency))).scalars()}
    links: dict[int, dict[str, list[AgencyRef]]] = {i: {} for i in ids}
    for row in (
        await session.execute(
            select(ReorganisationAgency)
            .where(col(ReorganisationAgency.event_id).in_(ids))
            .order_by(col(ReorganisationAgency.event_id), col(ReorganisationAgency.position))
        )
    ).scalars():
        links[row.event_id].setdefault(row.role, []).append(refs[row.agency_id])
    transfers: dict[int, list[TransferRead]] = {i: [] for i in ids}
    for t in (
        await session.execute(
            select(ReorganisationTransfer)
            .where(col(ReorganisationTransfer.event_id).in_(ids))
            .order_by(col(ReorganisationTransfer.event_id), col(ReorganisationTransfer.position))
        )
    ).scalars():
        transfers[t.event_id].append(
            TransferRead(
                function=t.function,
                items=t.items,
                from_=refs[t.from_agency_id] if t.from_agency_id else None,
                to=refs[t.to_agency_id],
                verified=t.verified,
                note=t.note,
            )
        )
    return [
        ReorganisationRead(
            code=e.code,
            date=e.date,
            date_note=e.date_note,
            kind=e.kind,
            predecessors=links[e.id or 0].get("predecessor", []),
            successors=links[e.id or 0].get("successor", []),
            introduced=links[e.id or 0].get("introduced", []),
            transfers=transfers[e.id or 0],
            legal_basis=[LegalBasis.model_validate(b) for b in e.legal_basis],
            sources=e.sources,
            verified=e.verified,
            notes=e.notes,
            origin=e.origin,
            updated_at=e.updated_at,
        )
        for e in events
    ]


async def list_events(
    session: AsyncSession, *, agency: str | None, after: SortKey | None, limit: int
) -> ReorganisationPage:
    """Every event in date order (then as recorded); ``agency``: events naming it."""
    stmt = select(Reorganisation)
    if agency is not None:
        agency_id = (
            await session.execute(select(col(Agency.id)).where(col(Agency.code) == agency))
        ).scalar()
        if agency_id is None:
            raise UnknownFilterValueError("agency", agency)
        named = select(col(ReorganisationAgency.event_id)).where(
            col(ReorganisationAgency.agency_id) == agency_id
        )
        moved = select(col(ReorganisationTransfer.event_id)).where(
            or_(
                col(ReorganisationTransfer.from_agency_id) == agency_id,
                col(ReorganisationTransfer.to_agency_id) == agency_id,
            )
        )
        stmt = stmt.where(or_(col(Reorganisation.id).in_(named), col(Reorganisation.id).in_(moved)))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    key = tuple_(_ORDINAL, col(Reorganisation.id))
    if after is not None:
        stmt = stmt.where(key > tuple_(*after))
    rows = list(
        (await session.execute(stmt.order_by(_ORDINAL, col(Reorganisation.id)).limit(limit + 1)))
        .scalars()
        .all()
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(
            "reorganisations", (rows[-1].date.toordinal(), rows[-1].id or 0)
        )
    items = await read_events(session, rows)
    return ReorganisationPage(items=items, total=total, next_cursor=next_cursor)


async def get_event(session: AsyncSession, code: str, *, lock: bool = False) -> Reorganisation:
    """The event by code; ``lock`` (a correction) holds its row until the transaction ends, so
    concurrent corrections run one after the other and the later one checks its If-Match
    against the version the earlier one wrote (412), instead of both rewriting the links."""
    stmt = select(Reorganisation).where(col(Reorganisation.code) == code)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    event = (await session.execute(stmt)).scalar()
    if event is None:
        raise NotFoundError("reorganisation", code)
    return event


# Validity of agencies ----------------------------------------------------------------------


async def refresh_validity(session: AsyncSession) -> int:
    """Derive every agency's valid_from, valid_to and successor from the events; return how
    many agencies changed."""
    events = list(
        (
            await session.execute(
                select(Reorganisation).order_by(col(Reorganisation.date), col(Reorganisation.id))
            )
        ).scalars()
    )
    links: dict[int, dict[str, list[int]]] = {}
    for row in (
        await session.execute(
            select(ReorganisationAgency).order_by(col(ReorganisationAgency.position))
        )
    ).scalars():
        links.setdefault(row.event_id, {}).setdefault(row.role, []).append(row.agency_id)
    wanted: dict[int, tuple[date | None, date | None, int | None]] = {}
    valid_from: dict[int, date] = {}
    ended: dict[int, tuple[date, int | None]] = {}
    for event in events:
        own = links.get(event.id or 0, {})
        for agency_id in own.get("introduced", []):
            valid_from.setdefault(agency_id, event.date)
        if event.kind == "transfer":
            continue
        successors = own.get("successor", [])
        for agency_id in own.get("predecessor", []):
            if agency_id not in successors and agency_id not in ended:
                sole = successors[0] if len(successors) == 1 else None
                ended[agency_id] = (event.date - timedelta(days=1), sole)
    changed = 0
    for row_id, valid_to, successor_id, start in (
        await session.execute(
            select(
                col(Agency.id),
                col(Agency.valid_to),
                col(Agency.successor_id),
                col(Agency.valid_from),
            )
        )
    ).all():
        agency_id = row_id or 0
        end, successor = ended.get(agency_id, (None, None))
        wanted[agency_id] = (valid_from.get(agency_id), end, successor)
        if (start, valid_to, successor_id) != wanted[agency_id]:
            await session.execute(
                update(Agency)
                .where(col(Agency.id) == agency_id)
                .values(valid_from=wanted[agency_id][0], valid_to=end, successor_id=successor)
            )
            changed += 1
    return changed


# Writing -----------------------------------------------------------------------------------


async def _agency_ids(session: AsyncSession) -> dict[str, tuple[int, str]]:
    rows = await session.execute(select(col(Agency.code), col(Agency.id), col(Agency.kind)))
    return {code: (agency_id or 0, kind) for code, agency_id, kind in rows}


async def _item_codes(session: AsyncSession) -> set[str]:
    codes: set[str] = set()
    for column in (col(Section.code), col(Task.code), col(Indicator.code), col(Document.code)):
        codes.update((await session.execute(select(column))).scalars())
    return codes


def _shape_errors(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """The rules of the data file's validator (app.services.reorganisation_data.Event)."""
    kind = fields["kind"]
    errors: list[tuple[str, str]] = []
    if kind in ("merge", "split", "rename", "level_abolished") and not fields["successors"]:
        errors.append(("successors", "successors_required"))
    if kind == "rename" and (len(fields["predecessors"]), len(fields["successors"])) != (1, 1):
        errors.append(("successors", "rename_one_to_one"))
    if kind == "transfer" and not fields["transfers"]:
        errors.append(("transfers", "transfers_required"))
    if fields["verified"] and not any(b.number for b in fields["legal_basis"]):
        errors.append(("legal_basis", "basis_number_required"))
    if not fields["verified"] and not fields["notes"]:
        errors.append(("notes", "notes_required"))
    if len(set(fields["predecessors"])) != len(fields["predecessors"]):
        errors.append(("predecessors", "duplicate_agency"))
    for t in fields["transfers"]:
        if not t.function and not t.items:
            errors.append(("transfers", "transfer_empty"))
    return errors


async def _validate(
    session: AsyncSession,
    fields: dict[str, Any],
    *,
    event_id: int | None,
    new_codes: dict[str, Any],
    introduced: list[str],
) -> None:
    """422 naming each broken rule; ``new_codes`` maps agencies the event introduces to their
    kind."""
    errors = _shape_errors(fields)
    known = await _agency_ids(session)
    kinds = {code: kind for code, (_, kind) in known.items()} | new_codes
    unknown: list[str] = []
    for name in ("predecessors", "successors"):
        missing = [c for c in fields[name] if c not in kinds]
        if missing:
            errors.append((name, "unknown_agencies"))
            unknown += missing
    for t in fields["transfers"]:
        missing = [c for c in (t.to, t.from_) if c is not None and c not in kinds]
        if missing:
            errors.append(("transfers", "unknown_agencies"))
            unknown += missing
    if any(c in new_codes for c in fields["predecessors"]):
        errors.append(("predecessors", "agency_not_yet"))
    if fields["kind"] == "level_abolished" and any(
        kinds.get(c) not in (None, "district") for c in fields["predecessors"]
    ):
        errors.append(("predecessors", "not_district"))
    items = [i for t in fields["transfers"] for i in t.items]
    if items:
        plan_items = await _item_codes(session)
        if any(i not in plan_items for i in items):
            errors.append(("transfers", "unknown_item"))
    if not errors:
        errors += await _date_and_cycle_errors(
            session, fields, event_id=event_id, known=known, here=introduced
        )
    if errors:
        raise FieldValidationError(
            list(dict.fromkeys(errors)), codes=", ".join(dict.fromkeys(unknown)) or "-"
        )


async def _date_and_cycle_errors(
    session: AsyncSession,
    fields: dict[str, Any],
    *,
    event_id: int | None,
    known: dict[str, tuple[int, str]],
    here: list[str],
) -> list[tuple[str, str]]:
    """An agency exists from the event that introduced it: a predecessor before the event, a
    successor or receiver of a transfer on its date at the latest; successions must not
    loop. ``here``: the agencies this event introduces."""
    codes = {agency_id: code for code, (agency_id, _) in known.items()}
    others = (
        await session.execute(
            select(
                col(Reorganisation.id), col(Reorganisation.date), col(Reorganisation.kind)
            ).where(col(Reorganisation.id) != (event_id or 0))
        )
    ).all()
    dates = {i: (d, k) for i, d, k in others}
    introduced: dict[str, date] = {}
    edges: set[tuple[str, str]] = set()
    by_event: dict[int, dict[str, list[str]]] = {}
    for row in (await session.execute(select(ReorganisationAgency))).scalars():
        if row.event_id in dates:
            by_event.setdefault(row.event_id, {}).setdefault(row.role, []).append(
                codes[row.agency_id]
            )
    for other, own in by_event.items():
        when, kind = dates[other]
        for code in own.get("introduced", []):
            introduced[code] = min(when, introduced.get(code, when))
        if kind != "transfer":
            edges |= {
                (p, s)
                for p in own.get("predecessor", [])
                for s in own.get("successor", [])
                if p != s
            }
    errors: list[tuple[str, str]] = []
    on = fields["date"]
    receivers = fields["successors"] + [t.to for t in fields["transfers"]]
    if (
        any(c in introduced and introduced[c] >= on for c in fields["predecessors"])
        or any(c in introduced and introduced[c] > on for c in receivers)
        or any(
            code in here and dates[other][0] <= on
            for other, own in by_event.items()
            for code in own.get("predecessor", [])
        )
    ):
        errors.append(("date", "agency_not_yet"))
    if fields["kind"] != "transfer":
        edges |= {(p, s) for p in fields["predecessors"] for s in fields["successors"] if p != s}
    graph: dict[str, set[str]] = {}
    for p, s in edges:
        graph.setdefault(p, set()).add(s)
    if _has_cycle(graph):
        errors.append(("successors", "succession_cycle"))
    return errors


def _has_cycle(graph: dict[str, set[str]]) -> bool:
    """Whether the successions loop. Iterative depth-first search (an explicit stack, not
    recursion), so a chain of any length is checked without RecursionError."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in list(graph):
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(graph.get(start, ())))]
        while stack:
            node, successors = stack[-1]
            nxt = next(successors, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return True
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(graph.get(nxt, ()))))
    return False


def _row_values(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": fields["date"],
        "date_note": fields["date_note"],
        "kind": fields["kind"],
        "legal_basis": [b.model_dump(mode="json") for b in fields["legal_basis"]],
        "sources": fields["sources"],
        "verified": fields["verified"],
        "notes": fields["notes"],
    }


async def _write_links(
    session: AsyncSession, event_id: int, fields: dict[str, Any], introduced: list[str]
) -> None:
    ids = {code: agency_id for code, (agency_id, _) in (await _agency_ids(session)).items()}
    await session.execute(
        delete(ReorganisationAgency).where(col(ReorganisationAgency.event_id) == event_id)
    )
    await session.execute(
        delete(ReorganisationTransfer).where(col(ReorganisationTransfer.event_id) == event_id)
    )
    for role, codes in (
        ("predecessor", fields["predecessors"]),
        ("successor", fields["successors"]),
        ("introduced", introduced),
    ):
        for position, code in enumerate(codes):
            session.add(
                ReorganisationAgency(
                    event_id=event_id, agency_id=ids[code], role=role, position=position
                )
            )
    t: TransferBody
    for position, t in enumerate(fields["transfers"]):
        session.add(
            ReorganisationTransfer(
                event_id=event_id,
                position=position,
                function=t.function,
                items=t.items,
                from_agency_id=ids[t.from_] if t.from_ else None,
                to_agency_id=ids[t.to],
                verified=t.verified,
                note=t.note,
            )
        )
    await session.flush()


async def _snapshot(session: AsyncSession, event: Reorganisation) -> dict[str, Any]:
    return (await read_events(session, [event]))[0].model_dump(mode="json", by_alias=True)


async def create_event(
    session: AsyncSession, caller: User, body: ReorganisationCreate, today: date | None = None
) -> Reorganisation:
    """Record an event; the plan items whose `responsible` on ``today`` (default today in
    Việt Nam) it changes are logged for the sync feed."""
    graph_before = await read_lineage(session)
    exists = (
        await session.execute(
            select(col(Reorganisation.id)).where(col(Reorganisation.code) == body.code)
        )
    ).scalar()
    if exists is not None:
        raise ConflictError("conflict.reorganisation_exists", code=body.code)
    fields = body.model_dump(exclude={"code", "new_agencies"})
    fields |= {
        "transfers": body.transfers,
        "legal_basis": body.legal_basis,
    }
    known = await _agency_ids(session)
    taken = [a.code for a in body.new_agencies if a.code in known]
    if taken or len({a.code for a in body.new_agencies}) != len(body.new_agencies):
        raise FieldValidationError([("new_agencies", "agency_exists")], codes=", ".join(taken))
    parents = [a.parent for a in body.new_agencies if a.parent and a.parent not in known]
    if parents:
        raise FieldValidationError([("new_agencies", "unknown_agencies")], codes=", ".join(parents))
    new_codes = {a.code: a.kind for a in body.new_agencies}
    await _validate(session, fields, event_id=None, new_codes=new_codes, introduced=[])
    # Checked above, but a concurrent request may record the same code (or introduce the same
    # agency) between the check and the insert: its unique index answers, as a 409. The event
    # row goes first, so identical requests block on it and are told the event exists.
    event = Reorganisation(code=body.code, origin="api", **_row_values(fields))
    session.add(event)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConflictError("conflict.reorganisation_exists", code=body.code) from exc
    count = len(known)
    for offset, new in enumerate(body.new_agencies):
        values: dict[str, Any] = {
            "code": new.code,
            "name": new.name,
            "short_name": new.short_name,
            "kind": new.kind,
            "aliases": [],
            "parent_id": known[new.parent][0] if new.parent else None,
            "note": new.note,
            "sort_order": NEW_AGENCY_SORT_BASE + count + offset,
        }
        session.add(Agency.model_validate({**values, "search_text": index_text("agency", values)}))
    try:
        await session.flush()
    except IntegrityError as exc:
        codes = ", ".join(a.code for a in body.new_agencies)
        raise ConflictError("conflict.agency_exists", codes=codes) from exc
    await _write_links(session, event.id or 0, fields, list(new_codes))
    await refresh_validity(session)
    on = today or today_in_vietnam()
    await log_responsibility_changes(session, graph_before, await read_lineage(session), on)
    await mark_logged(session, event.id, on)  # the write covered the whole new event
    await session.refresh(event)
    await audit.record(
        session,
        caller,
        "reorganisation.create",
        "reorganisation",
        event.id,
        after=await _snapshot(session, event),
    )
    return event


async def update_event(
    session: AsyncSession,
    caller: User,
    event: Reorganisation,
    body: ReorganisationUpdate,
    if_match: str | None,
    today: date | None = None,
) -> Reorganisation:
    """Correct an event; the plan items whose `responsible` on ``today`` (default today in
    Việt Nam) the correction changes are logged for the sync feed."""
    check_if_match(if_match, event_etag(event))
    before = await _snapshot(session, event)
    graph_before = await read_lineage(session)
    was_logged = event.effect_logged_on is not None
    current = ReorganisationRead.model_validate(before)
    fields: dict[str, Any] = {
        "date": current.date,
        "date_note": current.date_note,
        "kind": current.kind,
        "predecessors": [a.code for a in current.predecessors],
        "successors": [a.code for a in current.successors],
        "transfers": [
            TransferBody.model_validate(
                {
                    **t.model_dump(exclude={"from_", "to"}),
                    "from": t.from_.code if t.from_ else None,
                    "to": t.to.code,
                }
            )
            for t in current.transfers
        ],
        "legal_basis": current.legal_basis,
        "sources": current.sources,
        "verified": current.verified,
        "notes": current.notes,
    }
    given = body.model_dump(exclude_unset=True)
    for name in given:
        fields[name] = getattr(body, name)
    for name in (
        "predecessors",
        "successors",
        "transfers",
        "legal_basis",
        "sources",
        "kind",
        "date",
        "verified",
    ):
        if fields[name] is None:
            raise FieldValidationError([(name, "missing")])
    introduced = [a.code for a in current.introduced]
    await _validate(session, fields, event_id=event.id, new_codes={}, introduced=introduced)
    for name, value in _row_values(fields).items():
        setattr(event, name, value)
    event.origin = "api"
    event.version += 1
    await session.flush()
    await _write_links(session, event.id or 0, fields, introduced)
    await refresh_validity(session)
    on = today or today_in_vietnam()
    await log_responsibility_changes(session, graph_before, await read_lineage(session), on)
    # Logged when it was before (the write logged what the correction changed); an event
    # whose day came unlogged stays so for `dxplan remind`.
    await mark_logged(session, event.id, on, logged=was_logged)
    await session.refresh(event)
    await audit.record(
        session,
        caller,
        "reorganisation.update",
        "reorganisation",
        event.id,
        before=before,
        after=await _snapshot(session, event),
    )
    return event

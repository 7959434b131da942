"""The sync feed: what changed since a cursor, for an app that works offline.

A change is served only once every transaction that could still commit an earlier change
has finished: the feed reads changes whose transaction id is below the snapshot's xmin (the
oldest transaction still running), in (transaction id, id) order. A transaction that began
earlier but commits later is therefore never skipped: its changes wait until it ends, and
they sort before any change of a later transaction served after them.

With `include=body` each upsert also carries its object as the object's own route answers
this caller now, read by the same service functions as those routes (so the two cannot
drift), a type at a time: a fixed number of queries per page, never one per change. The
body is the object's current version even when a later change in the feed touches it
again; a page with bodies holds at most BODY_PAGE_LIMIT changes.
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.pagination import SortKey, encode_cursor
from app.core.permissions import Permission, permissions_of
from app.models import Change, Plan, User
from app.schemas.sync import BODY_PAGE_LIMIT, Body, ChangeRead, SyncPage
from app.services import (
    agencies,
    documents,
    indicators,
    level_succession,
    periods,
    report_bodies,
    sections,
    tasks,
)
from app.services.item_kinds import KINDS
from app.services.lineage import Resolver, load_lineage

PUBLIC = ("task", "indicator", "document", "section", "agency", "period")
ITEM_PATHS = {
    "task_update": "task-updates",
    "indicator_value": "indicator-values",
    "document_update": "document-updates",
}
BIGINT = 2**62
RESPONSIBLE = {"task", "indicator", "document", "section"}  # routes that attach it


def _url(entity: str, key: str, query: str = "") -> str:
    """The object's own route; ``query`` (``?plan=…``) when the feed is not the default plan's."""
    if entity in ITEM_PATHS:
        report_id = key.split("/", 1)[0]
        return f"/api/v1/reports/{report_id}/{ITEM_PATHS[entity]}{query}"
    path = {
        "task": "tasks",
        "indicator": "indicators",
        "document": "documents",
        "section": "sections",
        "agency": "agencies",
        "period": "periods",
        "report": "reports",
    }[entity]
    return f"/api/v1/{path}/{key}{query}"


async def _stable_horizon(session: AsyncSession) -> int:
    """Every transaction with an id below this has finished."""
    return int(
        (
            await session.execute(
                text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            )
        ).scalar_one()
    )


class Bodies:
    """Reads the current bodies of a page's upserts for one caller, one type at a time."""

    def __init__(
        self, session: AsyncSession, plan: Plan, caller: User | None, today: date, query: str = ""
    ) -> None:
        self.session, self.plan, self.caller, self.today = session, plan, caller, today
        self.query = query  # ends links in bodies (``?plan=`` of another plan)
        self.resolver: Resolver | None = None

    @staticmethod
    def _numbers(keys: Iterable[str]) -> list[int]:
        """Numeric keys as the integer columns take them (the log's keys are text)."""
        return [int(k) for k in keys if k.isdigit() and int(k) < 2**31]

    async def _read(self, entity: str, keys: set[str]) -> Iterable[tuple[str, Any]]:
        session, plan, caller = self.session, self.plan, self.caller
        if entity == "task":
            found = await tasks.read_tasks(session, plan, list(keys), self.today, self.query)
            return ((b.code, b) for b in found)
        if entity == "indicator":
            read_ = await indicators.read_indicators(session, plan, list(keys), self.query)
            return ((b.code, b) for b in read_)
        if entity == "document":
            read = await documents.read_documents(session, plan, self._numbers(keys))
            return ((str(b.number), b) for b in read)
        if entity == "section":
            return ((b.code, b) for b in await sections.read_sections(session, plan, list(keys)))
        if entity == "agency":
            return ((b.code, b) for b in await agencies.read_agencies(session, plan, list(keys)))
        if entity == "period":
            ids = self._numbers(keys)
            shown = await periods.read_visible_periods(session, plan, caller, ids)
            return ((str(b.id), b) for b in shown)
        if caller is None:  # reports and their items are never shown without a token
            return ()
        if entity == "report":
            ids = self._numbers(keys)
            details = await report_bodies.read_visible_reports(session, plan, caller, ids)
            return ((str(b.id), b) for b in details)
        kind = next(k for k in KINDS.values() if k.entity == entity)
        ids = self._numbers(k.partition("/")[2] for k in keys)
        items = await report_bodies.read_visible_items(session, plan, caller, kind, ids)
        return ((f"{b.report_id}/{b.id}", b) for b in items)

    async def _responsible(self, entity: str, found: Iterable[tuple[str, Any]]) -> list[Any]:
        """Plan items as their routes answer them: with `responsible` as of today (the
        routes' default `as_of`), from the reorganisations graph, read once per page."""
        found = list(found)
        if entity in RESPONSIBLE and found:
            if self.resolver is None:
                self.resolver = Resolver(await load_lineage(self.session), self.today)
            for _, body in found:
                if entity == "indicator":
                    level_succession.attach(self.resolver, self.plan.code, body)
                self.resolver.attach(body)
        return found

    async def of(self, rows: list[Change]) -> dict[tuple[str, str], Body]:
        wanted: dict[str, set[str]] = {}
        for row in rows:
            if row.op == "upsert":
                wanted.setdefault(row.entity, set()).add(row.key)
        found: dict[tuple[str, str], Body] = {}
        for entity, keys in wanted.items():
            for key, body in await self._responsible(entity, await self._read(entity, keys)):
                found[(entity, key)] = body
        return found


async def feed(
    session: AsyncSession,
    plan: Plan,
    caller: User | None,
    since: SortKey | None,
    types: set[str] | None,
    limit: int,
    bodies: Bodies | None = None,
    query: str = "",
) -> SyncPage:
    """A page of the plan's changes after `since` (agencies, shared by every plan, in every
    plan's feed); with `bodies`, each carries its object's current body (`None` for a
    tombstone or an object gone since) and the page holds at most BODY_PAGE_LIMIT changes.
    ``query`` ends each change's url (the plan, when it is not the default one)."""
    if bodies is not None:
        limit = min(limit, BODY_PAGE_LIMIT)
    horizon = await _stable_horizon(session)
    if since is None:
        return SyncPage(changes=[], next_cursor=encode_cursor("sync", (horizon, 0)), has_more=False)
    visible: Any = col(Change.agency_id).is_(None)
    if caller is not None and Permission.reports_read_own in permissions_of(caller.role):
        visible = or_(visible, col(Change.agency_id) == caller.agency_id)
    stmt = (
        select(Change)
        .where(
            tuple_(col(Change.txid), col(Change.id)) > tuple_(*since),
            col(Change.txid) < horizon,
            visible,
            or_(col(Change.plan_id) == plan.id, col(Change.plan_id).is_(None)),
        )
        .order_by(col(Change.txid), col(Change.id))
        .limit(limit + 1)
    )
    if types is not None:
        stmt = stmt.where(and_(col(Change.entity).in_(types)))
    rows = list((await session.execute(stmt)).scalars())
    has_more = len(rows) > limit
    rows = rows[:limit]
    cursor = (rows[-1].txid, rows[-1].id or 0) if rows else since
    changes = [
        ChangeRead(type=r.entity, key=r.key, op=r.op, url=_url(r.entity, r.key, query), at=r.at)
        for r in rows
    ]
    if bodies is not None:
        found = await bodies.of(rows)
        for change in changes:
            change.body = found.get((change.type, change.key))
    return SyncPage(
        changes=changes,
        next_cursor=encode_cursor("sync", cursor),
        has_more=has_more,
    )

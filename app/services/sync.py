"""The sync feed: what changed since a cursor, for an app that works offline.

A change is served only once every transaction that could still commit an earlier change
has finished: the feed reads changes whose transaction id is below the snapshot's xmin (the
oldest transaction still running), in (transaction id, id) order. A transaction that began
earlier but commits later is therefore never skipped: its changes wait until it ends, and
they sort before any change of a later transaction served after them.
"""

from typing import Any

from sqlalchemy import and_, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.pagination import SortKey, encode_cursor
from app.core.permissions import Permission, permissions_of
from app.models import Change, User
from app.schemas.sync import ChangeRead, SyncPage

PUBLIC = ("task", "indicator", "document", "section", "agency", "period")
ITEM_PATHS = {
    "task_update": "task-updates",
    "indicator_value": "indicator-values",
    "document_update": "document-updates",
}
BIGINT = 2**62


def _url(entity: str, key: str) -> str:
    if entity in ITEM_PATHS:
        report_id = key.split("/", 1)[0]
        return f"/api/v1/reports/{report_id}/{ITEM_PATHS[entity]}"
    path = {
        "task": "tasks",
        "indicator": "indicators",
        "document": "documents",
        "section": "sections",
        "agency": "agencies",
        "period": "periods",
        "report": "reports",
    }[entity]
    return f"/api/v1/{path}/{key}"


async def _stable_horizon(session: AsyncSession) -> int:
    """Every transaction with an id below this has finished."""
    return int(
        (
            await session.execute(
                text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            )
        ).scalar_one()
    )


async def feed(
    session: AsyncSession,
    caller: User | None,
    since: SortKey | None,
    types: set[str] | None,
    limit: int,
) -> SyncPage:
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
    return SyncPage(
        changes=[
            ChangeRead(
                type=r.entity,
                key=r.key,
                op=r.op,
                url=_url(r.entity, r.key),
                at=r.at,
            )
            for r in rows
        ],
        next_cursor=encode_cursor("sync", cursor),
        has_more=has_more,
    )

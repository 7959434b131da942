"""A reorganisation write logs the plan items whose `responsible` it changes, for the sync feed.

Tasks, indicators, documents and sections answer `responsible` as of today (their routes'
default `as_of`, and the sync feed's bodies with `include=body`), derived from the
reorganisations graph. Recording or correcting an event changes that answer without touching
the items' rows, so the change log's triggers would never see it and a phone that synced
before would keep the old responsible agency for ever. A write therefore compares every plan
item's responsibility on today under the graph before and after it, and touches the rows of
the items whose answer differs (a no-op ``UPDATE``): the change log's own trigger records
them, with whatever it records for the item (its plan), in the write's transaction. An
indicator is touched too when what its targets answer about a level that ended
(``level_succession``, hence attainment, app.services.level_succession) differs on today.

An event dated after today changes nothing today. Its day is logged by ``dxplan remind``
(run hourly from cron): ``log_events_taking_effect`` finds the events whose date has come
and whose effect is not logged yet (``reorganisations.effect_logged_on``), and logs every item
whose responsibility on today differs from the day before the earliest of them. Until that
run, a phone keeps the day-before answer (README "Sync").
"""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import (
    Agency,
    Document,
    DocumentAgency,
    Indicator,
    IndicatorAgency,
    IndicatorTarget,
    Plan,
    Section,
    SectionAgency,
    Task,
    TaskAgency,
)
from app.services import level_succession
from app.services.lineage import Lineage, read_lineage

# (entity, item table, its key column, link table, the link's owner column)
_KINDS: tuple[tuple[str, Any, Any, Any, str], ...] = (
    ("task", Task, Task.code, TaskAgency, "task_id"),
    ("indicator", Indicator, Indicator.code, IndicatorAgency, "indicator_id"),
    ("document", Document, Document.number, DocumentAgency, "document_id"),
    ("section", Section, Section.code, SectionAgency, "section_id"),
)


def _transfer_items(*graphs: Lineage) -> set[str]:
    return {
        item
        for graph in graphs
        for event in graph.events
        for transfer in event.transfers
        for item in transfer.items
    }


async def _judged_differently(
    session: AsyncSession, before: Lineage, then: date, after: Lineage, on: date
) -> set[int]:
    """Indicators with a target whose ``level_succession`` on ``then`` under ``before``
    differs from that on ``on`` under ``after`` (an event that ends a level was written, or
    its date or per-target records changed, or its day came)."""
    rows = await session.execute(
        select(
            col(IndicatorTarget.indicator_id),
            col(Plan.code),
            col(IndicatorTarget.code),
            col(IndicatorTarget.level),
        )
        .join(Indicator, col(Indicator.id) == col(IndicatorTarget.indicator_id))
        .join(Plan, col(Plan.id) == col(Indicator.plan_id))
        .where(col(IndicatorTarget.level).is_not(None))
    )
    return {
        indicator_id
        for indicator_id, plan, target, level in rows
        if level_succession.succession(before, plan, target, level, then)
        != level_succession.succession(after, plan, target, level, on)
    }


async def log_responsibility_changes(
    session: AsyncSession,
    before: Lineage,
    after: Lineage,
    on: date,
    before_on: date | None = None,
) -> dict[str, int]:
    """Touch every plan item whose lead or coordinating agencies resolve differently on
    ``on`` under ``after`` than on ``before_on`` (default ``on``) under ``before``; return
    how many, per entity."""
    then = before_on or on
    named_by_transfers = _transfer_items(before, after)
    memo: dict[tuple[str, str | None], bool] = {}

    def differs(code: str, item: str) -> bool:
        # Only a transfer naming the item makes the answer depend on the item.
        key = (code, item if item in named_by_transfers else None)
        if key not in memo:
            known = (code in before.agencies, code in after.agencies)
            if known != (True, True):
                memo[key] = known[0] != known[1]
            else:
                old = before.resolve(code, then, key[1]).model_dump()
                memo[key] = old != after.resolve(code, on, key[1]).model_dump()
        return memo[key]

    judged = await _judged_differently(session, before, then, after, on)
    touched: dict[str, int] = {}
    for entity, item, key, link, owner in _KINDS:
        rows = await session.execute(
            select(item.id, key, col(Agency.code))
            .join(link, getattr(link, owner) == item.id)
            .join(Agency, col(Agency.id) == col(link.agency_id))
            .where(col(link.role).in_(("lead", "coordinating")))
        )
        ids = sorted(
            {item_id for item_id, item_key, code in rows if differs(code, str(item_key))}
            | (judged if entity == "indicator" else set())
        )
        if ids:
            table = item.__tablename__
            await session.execute(
                text(f"UPDATE {table} SET plan_id = plan_id WHERE id = ANY(:ids)"), {"ids": ids}
            )
            touched[entity] = len(ids)
    return touched


_FUTURE_UNLOGGED = text(
    "UPDATE reorganisations SET effect_logged_on = NULL"
    " WHERE date > :today AND effect_logged_on IS NOT NULL"
)


async def mark_logged(
    session: AsyncSession, event_id: int | None, today: date, logged: bool = True
) -> None:
    """After a write that logged what it changed on ``today``: the written event's effect is
    logged when its date has come and ``logged`` (its whole effect was logged before, or the
    write itself covered it: a new event); no event dated after today is (raw SQL: the
    event's version and ``updated_at`` stay)."""
    if event_id is not None:
        await session.execute(
            text(
                "UPDATE reorganisations SET effect_logged_on = CASE"
                " WHEN CAST(:logged AS boolean) AND date <= :today THEN CAST(:today AS date)"
                " END WHERE id = :id"
            ),
            {"id": event_id, "today": today, "logged": logged},
        )
    await session.execute(_FUTURE_UNLOGGED, {"today": today})


async def log_events_taking_effect(session: AsyncSession, today: date) -> dict[str, Any]:
    """Log the plan items whose `responsible` changed because events took effect on or
    before ``today`` since their effect was last logged: every item whose responsibility
    on ``today`` differs from the day before the earliest such event. Idempotent: those
    events are marked, a second run logs nothing. For ``dxplan remind``."""
    await session.execute(_FUTURE_UNLOGGED, {"today": today})
    pending = (
        await session.execute(
            text(
                "SELECT id, code, date FROM reorganisations"
                " WHERE effect_logged_on IS NULL AND date <= :today ORDER BY date, id FOR UPDATE"
            ),
            {"today": today},
        )
    ).all()
    if not pending:
        return {"events": [], "logged": {}}
    graph = await read_lineage(session)
    since = min(row.date for row in pending) - timedelta(days=1)
    logged = await log_responsibility_changes(session, graph, graph, today, before_on=since)
    await session.execute(
        text("UPDATE reorganisations SET effect_logged_on = :today WHERE id = ANY(:ids)"),
        {"today": today, "ids": [row.id for row in pending]},
    )
    return {"events": [row.code for row in pending], "logged": logged}

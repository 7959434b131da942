"""Idempotent loading of a reorganisation data file (app/data/reorganisations_*.json).

Like the plan: rows are matched by code (events by event code, new agencies by agency code);
a second load of the same file writes nothing, and an edited file updates exactly the events
that differ (each such event's version moves, so an If-Match read before is stale). Events
recorded or corrected through the API (``origin = 'api'``) are left alone and listed under
``kept``; events of the database missing from the file are kept and listed under ``stale``.
Agencies' validity (valid_from, valid_to, successor) is then derived from all events, and
the plan items whose `responsible` today the load changed are logged for the sync feed
(app.services.responsibility_changes).
"""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import Agency, Reorganisation, ReorganisationAgency, ReorganisationTransfer
from app.services.ended_agencies import today_in_vietnam
from app.services.lineage import read_lineage
from app.services.reorganisation_data import ReorganisationFile
from app.services.reorganisations import NEW_AGENCY_SORT_BASE, refresh_validity
from app.services.responsibility_changes import log_responsibility_changes, mark_logged
from app.services.seed import SeedReport, _sync_links, _upsert


def _event_values(event: Any, plan: str) -> dict[str, Any]:
    return {
        "date": event.date,
        "date_note": event.date_note,
        "kind": event.kind,
        "legal_basis": [b.model_dump(mode="json") for b in event.legal_basis],
        "sources": list(event.sources),
        "verified": event.verified,
        "notes": event.notes,
        "level_targets": [{"plan": plan, **t.model_dump(mode="json")} for t in event.level_targets],
    }


def _changes(report: SeedReport) -> int:
    return (
        sum(report.inserted.values()) + sum(report.updated.values()) + sum(report.deleted.values())
    )


async def load_reorganisations(
    session: AsyncSession, data: ReorganisationFile, report: SeedReport
) -> list[str]:
    """Load the file's events and new agencies; return the codes of events kept as the API
    left them."""
    graph_before = await read_lineage(session)
    stored = {e.code: e for e in (await session.execute(select(Reorganisation))).scalars().all()}
    kept = sorted(code for code, e in stored.items() if e.origin == "api")
    ids: dict[str, int] = {
        code: agency_id or 0
        for code, agency_id in (await session.execute(select(col(Agency.code), col(Agency.id))))
    }
    order = NEW_AGENCY_SORT_BASE
    for event in data.events:
        for new in event.new_agencies:
            ids[new.code] = await _upsert(
                session,
                Agency,
                ("code",),
                {
                    "code": new.code,
                    "name": new.name,
                    "short_name": new.short_name,
                    "kind": new.kind,
                    "aliases": [],
                    "parent_id": ids[new.parent] if new.parent else None,
                    "note": new.note,
                    "sort_order": order,
                },
                report,
                index="agency",
            )
            order += 1

    for event in data.events:
        if event.code in kept:
            continue
        values = _event_values(event, data.plan)
        row = stored.get(event.code)
        inserted = row is None
        if row is None:
            row = Reorganisation(code=event.code, origin="file", **values)
            session.add(row)
            await session.flush()
            report.inserted["reorganisations"] += 1
        before = _changes(report)
        row_changed = not inserted and any(getattr(row, k) != v for k, v in values.items())
        agencies: dict[tuple[Any, ...], dict[str, Any]] = {}
        for role, codes in (
            ("predecessor", event.predecessors),
            ("successor", event.successors),
            ("introduced", [a.code for a in event.new_agencies]),
        ):
            for position, code in enumerate(codes):
                agencies[(ids[code], role)] = {"position": position}
        await _sync_links(
            session,
            ReorganisationAgency,
            "event_id",
            {row.id or 0: agencies},
            ("agency_id", "role"),
            report,
        )
        transfers = {
            (position,): {
                "function": t.function,
                "items": list(t.items),
                "from_agency_id": ids[t.from_] if t.from_ else None,
                "to_agency_id": ids[t.to],
                "verified": t.verified,
                "note": t.note,
            }
            for position, t in enumerate(event.transfers)
        }
        await _sync_links(
            session,
            ReorganisationTransfer,
            "event_id",
            {row.id or 0: transfers},
            ("position",),
            report,
        )
        if not inserted and (row_changed or _changes(report) != before):
            for name, value in values.items():
                setattr(row, name, value)
            row.version += 1
            report.updated["reorganisations"] += 1
        await session.flush()

    if changed := await refresh_validity(session):
        report.updated["agencies"] += changed
    today = today_in_vietnam()
    await log_responsibility_changes(session, graph_before, await read_lineage(session), today)
    # Events dated after today are not logged yet; the others keep their mark (a new one is
    # logged, perhaps again, by the next `dxplan remind`).
    await mark_logged(session, None, today)
    listed = {e.code for e in data.events}
    stale = sorted(code for code, e in stored.items() if code not in listed and e.origin == "file")
    if stale:
        report.stale["reorganisations"] = stale
    return kept

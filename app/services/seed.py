"""Idempotent loading of a plan data file into the database.

Rows are matched by their stable code: a second load of the same file changes nothing (no
row is written, no ``updated_at`` moves), and an edited file updates exactly the rows whose
fields differ. Top-level plan items missing from the file are kept (progress reports may
point at them) and listed as ``stale``; owned rows (targets, agency links, group members)
follow the file exactly.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Table, delete, func, literal_column, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Agency,
    AgencyGroupMember,
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
    TaskGroup,
)
from app.services.periods import ensure_annual_periods
from app.services.plan_data import PlanFile
from app.services.search_index import index_text


@dataclass
class SeedReport:
    inserted: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    stale: dict[str, list[str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(+self.inserted or +self.updated or +self.deleted)

    def as_dict(self) -> dict[str, Any]:
        return {
            "inserted": dict(self.inserted),
            "updated": dict(self.updated),
            "deleted": dict(self.deleted),
            "stale": self.stale,
        }


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


async def _upsert(
    session: AsyncSession,
    model: Any,
    keys: tuple[str, ...],
    values: dict[str, Any],
    report: SeedReport,
    index: str | None = None,
) -> int:
    """Insert or update one row by its natural key; write nothing when nothing differs.

    With `index` (the search kind of the row), its ``search_text`` is computed from the
    same values, through the one definition the search reads (services/search_index.py)."""
    table = _table(model)
    if index is not None:
        values = {**values, "search_text": index_text(index, values)}
    insert = pg_insert(table).values(**values)
    columns = [c for c in values if c not in keys]
    set_: dict[str, Any] = {c: insert.excluded[c] for c in columns}
    if "updated_at" in table.c:
        set_["updated_at"] = func.now()
    stmt = insert.on_conflict_do_update(
        index_elements=list(keys),
        set_=set_,
        where=tuple_(*(table.c[c] for c in columns)).is_distinct_from(
            tuple_(*(insert.excluded[c] for c in columns))
        ),
    ).returning(table.c.id, literal_column("(xmax::text = '0')"))
    row = (await session.execute(stmt)).first()
    if row is not None:
        (report.inserted if row[1] else report.updated)[table.name] += 1
        return int(row[0])
    existing = await session.execute(
        select(table.c.id).where(*(table.c[k] == values[k] for k in keys))
    )
    return int(existing.scalar_one())


async def _sync_links(
    session: AsyncSession,
    model: Any,
    owner_column: str,
    desired: dict[int, dict[tuple[Any, ...], dict[str, Any]]],
    key_columns: tuple[str, ...],
    report: SeedReport,
) -> None:
    """Make the rows owned by each owner id exactly ``desired[owner]`` (keyed by key_columns)."""
    table = _table(model)
    if not desired:
        return
    rows = (
        await session.execute(select(table).where(table.c[owner_column].in_(list(desired))))
    ).mappings()
    existing: dict[int, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for row in rows:
        key = tuple(row[c] for c in key_columns)
        existing.setdefault(row[owner_column], {})[key] = dict(row)
    for owner, wanted in desired.items():
        have = existing.get(owner, {})
        for key in have.keys() - wanted.keys():
            await session.execute(
                delete(table).where(
                    table.c[owner_column] == owner,
                    *(table.c[c] == v for c, v in zip(key_columns, key, strict=True)),
                )
            )
            report.deleted[table.name] += 1
        for key, values in wanted.items():
            row_values = {owner_column: owner, **dict(zip(key_columns, key, strict=True)), **values}
            old = have.get(key)
            if old is None:
                await session.execute(pg_insert(table).values(**row_values))
                report.inserted[table.name] += 1
            elif any(old[c] != v for c, v in row_values.items()):
                await session.execute(
                    table.update()
                    .where(
                        table.c[owner_column] == owner,
                        *(table.c[c] == v for c, v in zip(key_columns, key, strict=True)),
                    )
                    .values(**values)
                )
                report.updated[table.name] += 1


def _agency_links(
    agency_ids: dict[str, int], lead: list[str], coordinating: list[str]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    links: dict[tuple[Any, ...], dict[str, Any]] = {}
    for role, codes in (("lead", lead), ("coordinating", coordinating)):
        for position, code in enumerate(codes):
            links[(agency_ids[code], role)] = {"position": position}
    return links


async def load_plan(session: AsyncSession, data: PlanFile) -> SeedReport:
    report = SeedReport()

    # Agencies are shared by every plan.
    agency_ids: dict[str, int] = {}
    for order, agency in enumerate(data.agencies):
        agency_ids[agency.code] = await _upsert(
            session,
            Agency,
            ("code",),
            {
                "code": agency.code,
                "name": agency.name,
                "short_name": agency.short_name,
                "kind": agency.kind,
                "aliases": agency.aliases,
                "parent_id": agency_ids[agency.parent] if agency.parent else None,
                "note": agency.note,
                "sort_order": order,
            },
            report,
            index="agency",
        )
    await _sync_links(
        session,
        AgencyGroupMember,
        "group_id",
        {
            agency_ids[a.code]: {(agency_ids[m],): {} for m in a.members}
            for a in data.agencies
            if a.kind == "group"
        },
        ("member_id",),
        report,
    )

    plan = data.plan
    details = plan.model_dump(
        exclude={"code", "title", "issuer", "issued_on", "start_year", "end_year"}
    )
    plan_id = await _upsert(
        session,
        Plan,
        ("code",),
        {
            "code": plan.code,
            "title": plan.title,
            "issuer": plan.issuer,
            "issued_on": date.fromisoformat(plan.issued_on),
            "start_year": plan.start_year,
            "end_year": plan.end_year,
            "details": {**details, "notes": data.notes},
            "corrections": [c.model_dump() for c in data.corrections],
        },
        report,
    )

    section_ids: dict[str, int] = {}
    section_links: dict[int, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for order, section in enumerate(data.sections):
        sid = await _upsert(
            session,
            Section,
            ("plan_id", "code"),
            {
                "plan_id": plan_id,
                "code": section.code,
                "parent_id": section_ids[section.parent] if section.parent else None,
                "level": section.level,
                "number": section.number,
                "title": section.title,
                "text": section.text,
                "bullets": section.bullets,
                "lead_note": section.lead_note,
                "sort_order": order,
            },
            report,
            index="section",
        )
        section_ids[section.code] = sid
        links: dict[tuple[Any, ...], dict[str, Any]] = {}
        for position, lead in enumerate(section.leads):
            links[(agency_ids[lead.agency], lead.role)] = {
                "position": position,
                "bullets": lead.bullets,
                "source": lead.source,
                "note": lead.note,
            }
        for position, code in enumerate(section.agencies):
            links[(agency_ids[code], "addressee")] = {
                "position": position,
                "bullets": None,
                "source": section.code,
                "note": None,
            }
        section_links[sid] = links
    await _sync_links(
        session, SectionAgency, "section_id", section_links, ("agency_id", "role"), report
    )

    group_ids: dict[str, int] = {}
    for order, group in enumerate(data.task_groups):
        group_ids[group.code] = await _upsert(
            session,
            TaskGroup,
            ("plan_id", "code"),
            {
                "plan_id": plan_id,
                "code": group.code,
                "parent_id": group_ids[group.parent] if group.parent else None,
                "title": group.title,
                "sort_order": order,
            },
            report,
        )

    task_ids: dict[str, int] = {}
    task_links: dict[int, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for order, task in enumerate(data.tasks):
        subgroup = f"{task.group}.{task.subgroup}" if task.subgroup else None
        tid = await _upsert(
            session,
            Task,
            ("plan_id", "code"),
            {
                "plan_id": plan_id,
                "code": task.code,
                "group_id": group_ids[task.group],
                "subgroup_id": group_ids[subgroup] if subgroup else None,
                "parent_id": task_ids[task.parent] if task.parent else None,
                "number": task.number,
                "title": task.title,
                "full_text": task.full_text,
                "deliverables": task.deliverables,
                "lead_text": task.lead_text,
                "lead_note": task.lead_note,
                "start_year": task.start_year,
                "end_year": task.end_year,
                "recurrence": task.recurrence,
                "source_section_id": section_ids[task.source_section]
                if task.source_section
                else None,
                "note": task.note,
                "sort_order": order,
            },
            report,
            index="task",
        )
        task_ids[task.code] = tid
        task_links[tid] = _agency_links(agency_ids, task.lead, task.coordinating)
    await _sync_links(session, TaskAgency, "task_id", task_links, ("agency_id", "role"), report)

    indicator_links: dict[int, dict[tuple[Any, ...], dict[str, Any]]] = {}
    indicator_targets: dict[int, dict[tuple[Any, ...], dict[str, Any]]] = {}
    indicator_codes: list[str] = []
    for order, indicator in enumerate(data.indicators):
        iid = await _upsert(
            session,
            Indicator,
            ("plan_id", "code"),
            {
                "plan_id": plan_id,
                "code": indicator.code,
                "target_year": indicator.target_year,
                "number": indicator.number,
                "text": indicator.text,
                "lead_text": indicator.lead_text,
                "coordinating_text": indicator.coordinating_text,
                "lead_note": indicator.lead_note,
                "footnotes": indicator.footnotes,
                "sort_order": order,
            },
            report,
            index="indicator",
        )
        indicator_codes.append(indicator.code)
        indicator_links[iid] = _agency_links(agency_ids, indicator.lead, indicator.coordinating)
        indicator_targets[iid] = {
            (target.code,): {**target.model_dump(exclude={"code"}), "position": position}
            for position, target in enumerate(indicator.targets)
        }
    await _sync_links(
        session, IndicatorAgency, "indicator_id", indicator_links, ("agency_id", "role"), report
    )
    await _sync_links(
        session, IndicatorTarget, "indicator_id", indicator_targets, ("code",), report
    )

    document_links: dict[int, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for order, document in enumerate(data.documents):
        did = await _upsert(
            session,
            Document,
            ("plan_id", "code"),
            {
                "plan_id": plan_id,
                "number": document.number,
                "code": document.code,
                "title": document.title,
                "type": document.type,
                "recurrence": document.recurrence,
                "lead_text": document.lead_text,
                "coordinating_text": document.coordinating_text,
                "note": document.note,
                "sort_order": order,
            },
            report,
            index="document",
        )
        document_links[did] = _agency_links(agency_ids, document.lead, document.coordinating)
    await _sync_links(
        session, DocumentAgency, "document_id", document_links, ("agency_id", "role"), report
    )

    plan_row = await session.get(Plan, plan_id)
    assert plan_row is not None
    if created := await ensure_annual_periods(session, plan_row):
        report.inserted["reporting_periods"] += created

    for model, codes, name in (
        (Section, section_ids, "sections"),
        (Task, task_ids, "tasks"),
        (Indicator, indicator_codes, "indicators"),
        (Document, [d.code for d in data.documents], "documents"),
    ):
        table = _table(model)
        stale = (
            (
                await session.execute(
                    select(table.c.code).where(
                        table.c.plan_id == plan_id, table.c.code.not_in(list(codes))
                    )
                )
            )
            .scalars()
            .all()
        )
        if stale:
            report.stale[name] = sorted(stale)
    await session.flush()
    return report

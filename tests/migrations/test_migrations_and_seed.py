"""Migrations go up, down and up again and agree with the models; loading is idempotent."""

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import app.models  # noqa: F401
from app.cli import run_seed
from app.core.config import async_url
from app.core.db import metadata
from app.core.migrate import downgrade, upgrade
from app.services.plan_data import DEFAULT_PLAN_FILE
from tests import db

TABLES_0015 = ("reorganisations", "reorganisation_agencies", "reorganisation_transfers")


@pytest.fixture
def scratch_url(server_url: str) -> Iterator[str]:
    url = db.create_database(server_url, prefix="dxplan_scratch")
    yield url
    db.drop_database(server_url, url)


def _inspect(url: str, fn: object) -> object:
    async def run() -> object:
        engine = create_async_engine(async_url(url), poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(fn)  # type: ignore[arg-type]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    settings = db.settings_for(scratch_url)
    upgrade(settings)
    tables = _inspect(scratch_url, _tables)
    assert {
        "plans",
        "agencies",
        "tasks",
        "indicators",
        "indicator_targets",
        "documents",
        "plan_sections",
        "task_agencies",
    } <= tables  # type: ignore[operator]
    downgrade(settings)
    assert _inspect(scratch_url, _tables) == {"alembic_version"}
    upgrade(settings)
    assert _inspect(scratch_url, _diff) == [], "models and migrations disagree"


def test_reorganisation_tables_granted_when_another_owner_role_migrates(
    server_url: str, scratch_url: str
) -> None:
    """0011's default privileges cover only tables its own role creates: 0015 run by another
    owner role must still give the runtime role its rights on the reorganisation tables."""
    settings = db.settings_for(scratch_url)
    upgrade(settings, revision="0014")
    name, password = f"dxplan_mig_{secrets.token_hex(4)}", secrets.token_hex(12)
    other = make_url(scratch_url).set(username=name, password=password)

    async def admin(statement: str) -> None:
        engine = create_async_engine(
            async_url(server_url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(admin(f"CREATE ROLE {name} LOGIN SUPERUSER PASSWORD '{password}'"))
    try:
        upgrade(settings, url=other.render_as_string(hide_password=False))

        def rights(connection: Connection) -> list[tuple[str, str, bool]]:
            role = settings.db_runtime_role
            checks = [
                (table, privilege, "has_table_privilege(:r, :o, :p)")
                for table in TABLES_0015
                for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE")
            ] + [("reorganisations_id_seq", "USAGE", "has_sequence_privilege(:r, :o, :p)")]
            return [
                (
                    obj,
                    privilege,
                    bool(
                        connection.execute(
                            text(f"SELECT {call}"), {"r": role, "o": obj, "p": privilege}
                        ).scalar_one()
                    ),
                )
                for obj, privilege, call in checks
            ]

        found = _inspect(scratch_url, rights)
        assert [r for r in found if not r[2]] == []  # type: ignore[union-attr]
    finally:
        db.drop_database(server_url, scratch_url)
        asyncio.run(admin(f"DROP ROLE IF EXISTS {name}"))


def _counts(connection: Connection) -> dict[str, object]:
    names = (
        "agencies",
        "plan_sections",
        "tasks",
        "indicators",
        "indicator_targets",
        "documents",
        "task_agencies",
    )
    counts = {n: connection.execute(text(f"SELECT count(*) FROM {n}")).scalar() for n in names}
    counts["max_updated_at"] = connection.execute(
        text("SELECT max(updated_at) FROM tasks")
    ).scalar()
    return counts


def test_seed_is_idempotent_and_updates_by_code(scratch_url: str, tmp_path: Path) -> None:
    settings = db.settings_for(scratch_url)
    upgrade(settings)
    first = asyncio.run(run_seed(settings, None))
    assert first["inserted"]["tasks"] == 81  # type: ignore[index]
    assert first["inserted"]["indicators"] == 27  # type: ignore[index]
    assert first["inserted"]["documents"] == 13  # type: ignore[index]
    before = _inspect(scratch_url, _counts)

    second = asyncio.run(run_seed(settings, None))
    assert second == {"inserted": {}, "updated": {}, "deleted": {}, "stale": {}}
    assert _inspect(scratch_url, _counts) == before

    data = json.loads(DEFAULT_PLAN_FILE.read_text(encoding="utf-8"))
    task = next(t for t in data["tasks"] if t["code"] == "A.I.1")
    task["title"] = "Chương trình đào tạo (sửa)"
    task["lead"] = ["VPUBND"]
    indicator = next(i for i in data["indicators"] if i["code"] == "CT-2025-01")
    indicator["targets"] = indicator["targets"][:2]
    data["tasks"] = [t for t in data["tasks"] if t["code"] != "F.4"]
    edited = tmp_path / "plan.json"
    edited.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    third = asyncio.run(run_seed(settings, edited))
    assert third == {
        "inserted": {"task_agencies": 1},
        "updated": {"tasks": 1},
        "deleted": {"task_agencies": 1, "indicator_targets": 1},
        "stale": {"tasks": ["F.4"]},
    }

    def title_and_lead(connection: Connection) -> tuple[object, ...]:
        return tuple(
            connection.execute(
                text(
                    "SELECT t.title, a.code FROM tasks t "
                    "JOIN task_agencies ta ON ta.task_id = t.id "
                    "JOIN agencies a ON a.id = ta.agency_id WHERE t.code = 'A.I.1'"
                )
            ).one()
        )

    assert _inspect(scratch_url, title_and_lead) == ("Chương trình đào tạo (sửa)", "VPUBND")

"""Separated database roles and the audit hash chain.

The app runs as the runtime role, which can neither alter nor rewrite the trail; the owner
can, and `dxplan audit verify` then names the first broken link. Tamper tests on the
session's database run in an owner transaction that is rolled back; the command's test uses
a scratch database of its own, since it must see a committed tamper.
"""

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.cli import main
from app.core.config import get_settings
from app.core.db import make_engine
from app.core.migrate import upgrade
from app.services.audit_chain import ChainReport, verify_chain
from tests import db
from tests.factories import Account, signed_in

API = "/api/v1"


def sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


# Everything the runtime role must be refused, each with insufficient_privilege (42501).
REFUSED = [
    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_stamp",
    "UPDATE audit_log SET action = 'tampered' WHERE id = (SELECT max(id) FROM audit_log)",
    "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
    "TRUNCATE audit_log",
    "DROP TRIGGER audit_log_chain ON audit_log",
    "ALTER TABLE audit_chain DISABLE TRIGGER ALL",
    "UPDATE audit_chain SET hash = prev_hash",
    "DELETE FROM audit_chain",
    "INSERT INTO audit_chain (seq, audit_id, prev_hash, hash)"
    " SELECT seq + 1000000, audit_id, hash, hash FROM audit_chain LIMIT 1",
    "DROP FUNCTION audit_chain_append() CASCADE",
    "UPDATE alembic_version SET version_num = version_num",
]


@pytest.mark.parametrize("statement", REFUSED)
async def test_the_runtime_role_cannot_alter_or_rewrite_the_trail(
    sessionmaker: Any, statement: str
) -> None:
    async with sessionmaker() as session:
        assert (await session.execute(text("SELECT current_user"))).scalar_one() == "dxplan_app"
        with pytest.raises(DBAPIError) as refused:
            await session.execute(text(statement))
        await session.rollback()
    assert sqlstate(refused.value) == "42501", refused.value


async def test_the_runtime_role_owns_nothing_and_may_only_append_to_the_trail(
    sessionmaker: Any,
) -> None:
    async with sessionmaker() as session:
        row = (
            await session.execute(
                text(
                    """
                    SELECT r.rolsuper, r.rolcanlogin,
                        (SELECT count(*) FROM pg_class WHERE relowner = r.oid),
                        (SELECT count(*) FROM pg_proc WHERE proowner = r.oid),
                        has_table_privilege('audit_log', 'INSERT'),
                        has_table_privilege('audit_log', 'UPDATE'),
                        has_table_privilege('audit_log', 'DELETE'),
                        has_table_privilege('audit_chain', 'INSERT'),
                        has_table_privilege('tasks', 'UPDATE')
                    FROM pg_roles r WHERE r.rolname = current_user
                    """
                )
            )
        ).one()
    assert tuple(row) == (False, False, 0, 0, True, False, False, False, True)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE audit_log SET action = action", "audit_log is append-only"),
        ("DELETE FROM audit_log", "audit_log is append-only"),
        ("UPDATE audit_chain SET hash = hash", "audit_chain is append-only"),
        ("DELETE FROM audit_chain", "audit_chain is append-only"),
    ],
)
async def test_even_the_owner_meets_the_append_only_triggers(
    owner: AsyncConnection, statement: str, message: str
) -> None:
    with pytest.raises(DBAPIError) as refused:
        await owner.execute(text(statement))
    assert sqlstate(refused.value) == "42501"
    assert message in str(refused.value)


async def _trail(client: httpx.AsyncClient, sessionmaker: Any, comments: int) -> list[int]:
    """Audited writes through HTTP (a report and comments on it); their audit ids."""
    officer = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    reviewer = await signed_in(client, sessionmaker, role="reviewer", agency="STTTT")
    period = await client.post(
        f"{API}/periods",
        headers=reviewer.headers,
        json={
            "title": f"Kỳ chuỗi nhật ký {secrets.token_hex(3)}",
            "due_date": "2026-12-01",
            "cutoff_date": "2026-11-15",
            "agencies": ["SYT"],
        },
    )
    assert period.status_code == 201, period.text
    report = await client.post(
        f"{API}/reports", headers=officer.headers, json={"period_id": period.json()["id"]}
    )
    assert report.status_code == 201, report.text
    answers = await asyncio.gather(
        *(_comment(client, officer, report.json()["id"], n) for n in range(comments))
    )
    assert [a.status_code for a in answers] == [201] * comments, [a.text for a in answers]
    async with sessionmaker() as session:
        ids = await session.execute(
            text(
                "SELECT id FROM audit_log WHERE (entity = 'report' AND entity_id = :r)"
                " OR (entity = 'period' AND entity_id = :p) ORDER BY id"
            ),
            {"r": str(report.json()["id"]), "p": str(period.json()["id"])},
        )
        return list(ids.scalars())


async def _comment(
    client: httpx.AsyncClient, who: Account, report_id: int, n: int
) -> httpx.Response:
    return await client.post(
        f"{API}/reports/{report_id}/comments",
        headers=who.headers,
        json={"body": f"Ý kiến số {n}: 100% hoàn thành"},
    )


@pytest.fixture
async def owner(database_url: str) -> AsyncIterator[AsyncConnection]:
    """An owner transaction on the session's database, always rolled back."""
    engine = db.owner_engine(database_url)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            try:
                yield connection
            finally:
                await transaction.rollback()
    finally:
        await engine.dispose()


async def _seq_of(connection: AsyncConnection, audit_id: int) -> int:
    query = text("SELECT seq FROM audit_chain WHERE audit_id = :a")
    return int((await connection.execute(query, {"a": audit_id})).scalar_one())


async def test_concurrent_audited_writes_leave_one_valid_chain(
    client: httpx.AsyncClient, sessionmaker: Any, owner: AsyncConnection
) -> None:
    ids = await _trail(client, sessionmaker, comments=20)
    assert len(ids) == 22  # the period, the report, 20 comments
    seqs = [await _seq_of(owner, i) for i in ids]
    assert len(set(seqs)) == 22
    report = await verify_chain(owner)
    total = (await owner.execute(text("SELECT count(*) FROM audit_log"))).scalar_one()
    assert report == ChainReport(total, total, report.head_hash), report
    head = await owner.execute(text("SELECT hash FROM audit_chain WHERE seq = :s"), {"s": total})
    assert bytes(head.scalar_one()).hex() == report.head_hash


async def test_lock_order_holds_when_audit_and_public_changes_come_in_either_order(
    sessionmaker: Any, database_url: str
) -> None:
    """Both commit-time triggers (the chain and the data_version bump) serialize committers;
    transactions queuing them in opposite orders must not deadlock."""
    async with sessionmaker() as session:
        rows = await session.execute(text("SELECT id FROM indicator_targets ORDER BY id LIMIT 20"))
        targets = list(rows.scalars())

    async def write(n: int, target: int) -> None:
        audit = text(
            "INSERT INTO audit_log (action, entity, entity_id) VALUES ('test.lock', 'test', :n)"
        )
        # Public data (bumps data_version at commit), not synced: the feed sees nothing.
        public = text("UPDATE indicator_targets SET text = text WHERE id = :t")
        steps = [(audit, {"n": str(n)}), (public, {"t": target})]
        async with sessionmaker() as session, session.begin():
            for statement, params in steps if n % 2 else reversed(steps):
                await session.execute(statement, params)
                await asyncio.sleep(0.02)

    await asyncio.wait_for(
        asyncio.gather(*(write(n, t) for n, t in enumerate(targets))), timeout=60
    )
    engine = db.owner_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert (await verify_chain(connection)).ok
    finally:
        await engine.dispose()


async def test_verify_names_a_changed_row(
    client: httpx.AsyncClient, sessionmaker: Any, owner: AsyncConnection
) -> None:
    ids = await _trail(client, sessionmaker, comments=2)
    target = ids[1]  # the report's creation, with rows chained after it
    await owner.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    await owner.execute(
        text('UPDATE audit_log SET after = after || \'{"state": "approved"}\' WHERE id = :i'),
        {"i": target},
    )
    report = await verify_chain(owner)
    seq = await _seq_of(owner, target)
    assert (report.broken_seq, report.broken_audit_id, report.verified) == (
        seq,
        target,
        seq - 1,
    )
    assert report.problem is not None and "content does not match" in report.problem


async def test_verify_names_a_deleted_row(
    client: httpx.AsyncClient, sessionmaker: Any, owner: AsyncConnection
) -> None:
    ids = await _trail(client, sessionmaker, comments=2)
    target = ids[1]
    seq = await _seq_of(owner, target)
    # What an owner can do: drop the foreign key, silence the append-only trigger, delete.
    await owner.execute(
        text("ALTER TABLE audit_chain DROP CONSTRAINT fk_audit_chain_audit_id_audit_log")
    )
    await owner.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    await owner.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": target})
    report = await verify_chain(owner)
    assert (report.broken_seq, report.broken_audit_id) == (seq, target)
    assert report.problem == f"audit row {target} is missing (deleted)"


async def _audit_at(connection: AsyncConnection, seq: int) -> int:
    query = text("SELECT audit_id FROM audit_chain WHERE seq = :s")
    return int((await connection.execute(query, {"s": seq})).scalar_one())


async def test_verify_names_the_link_after_one_rewritten_to_match_a_changed_row(
    client: httpx.AsyncClient, sessionmaker: Any, owner: AsyncConnection
) -> None:
    ids = await _trail(client, sessionmaker, comments=2)
    seq = await _seq_of(owner, ids[1])
    following = await _audit_at(owner, seq + 1)
    await owner.execute(text("ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only"))
    await owner.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    await owner.execute(text("UPDATE audit_log SET action = 'x.y' WHERE id = :i"), {"i": ids[1]})
    await owner.execute(
        text(
            "UPDATE audit_chain c SET hash = sha256(c.prev_hash || audit_chain_message(c.seq, a))"
            " FROM audit_log a WHERE a.id = c.audit_id AND c.seq = :s"
        ),
        {"s": seq},
    )
    report = await verify_chain(owner)
    assert (report.broken_seq, report.broken_audit_id, report.verified) == (
        seq + 1,
        following,
        seq,
    )
    assert report.problem is not None and report.problem.startswith("prev_hash ")


async def test_verify_names_a_missing_link(
    client: httpx.AsyncClient, sessionmaker: Any, owner: AsyncConnection
) -> None:
    ids = await _trail(client, sessionmaker, comments=2)
    seq = await _seq_of(owner, ids[1])
    await owner.execute(text("ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only"))
    await owner.execute(text("DELETE FROM audit_chain WHERE seq = :s"), {"s": seq})
    report = await verify_chain(owner)
    assert (report.broken_seq, report.verified) == (seq + 1, seq - 1)
    assert report.problem == f"link {seq} is missing (next link is {seq + 1})"


async def test_verify_names_an_unchained_row(owner: AsyncConnection) -> None:
    await owner.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain"))
    added = await owner.execute(
        text(
            "INSERT INTO audit_log (action, entity, entity_id) VALUES ('x', 'y', 'z') RETURNING id"
        )
    )
    added_id = added.scalar_one()
    report = await verify_chain(owner)
    assert (report.broken_seq, report.broken_audit_id) == (None, added_id)
    assert report.problem == f"audit row {added_id} has no link"


@pytest.fixture(scope="module")
def scratch_chain(server_url: str) -> Iterator[str]:
    """A migrated scratch database whose trail has four rows, written as the runtime role."""
    url = db.create_database(server_url, prefix="dxplan_chain")
    settings = db.settings_for(url)
    upgrade(settings)

    async def write() -> None:
        engine = make_engine(settings, null_pool=True)
        try:
            for n in range(4):
                async with engine.begin() as connection:
                    await connection.execute(
                        text(
                            "INSERT INTO audit_log (action, entity, entity_id, after)"
                            " VALUES ('thing.create', 'thing', :n, CAST(:after AS jsonb))"
                        ),
                        {"n": str(n), "after": json.dumps({"tên": f"Mục {n}", "số": 1.10})},
                    )
        finally:
            await engine.dispose()

    asyncio.run(write())
    yield url
    db.drop_database(server_url, url)


def _owner_sql(url: str, *statements: str) -> None:
    async def run() -> None:
        engine = db.owner_engine(url)
        try:
            async with engine.begin() as connection:
                for statement in statements:
                    await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


def _verify(url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, Any]:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("APP_ENV", "test")
    get_settings.cache_clear()
    try:
        main(["audit", "verify"])
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    finally:
        get_settings.cache_clear()
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err, printed.err
    return code, json.loads(printed.out)


def test_audit_verify_command_finds_a_committed_tamper(
    scratch_chain: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    code, out = _verify(scratch_chain, monkeypatch, capsys)
    assert (code, out["verified"], out["head"]["seq"]) == (0, 4, 4)
    assert len(out["head"]["hash"]) == 64

    _owner_sql(
        scratch_chain,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "UPDATE audit_log SET entity_id = 'changed' WHERE id = 2",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
    )
    code, out = _verify(scratch_chain, monkeypatch, capsys)
    assert code == 1
    assert out["verified"] == 1
    assert (out["broken"]["seq"], out["broken"]["audit_id"]) == (2, 2)
    assert "audit row 2's content does not match its link" in out["broken"]["problem"]

    # Putting the value back makes the chain whole again: the check is on content.
    _owner_sql(
        scratch_chain,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "UPDATE audit_log SET entity_id = '1' WHERE id = 2",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
    )
    code, out = _verify(scratch_chain, monkeypatch, capsys)
    assert (code, out["verified"]) == (0, 4)


# Times an audit row must never carry: message v1 renders years 1 to 9999 AD only, and
# to_char renders no infinity (NULL) nor a BC year ("0044" like AD 44).
UNRENDERABLE_TIMES = ["infinity", "-infinity", "10000-01-01 00:00:00+00", "0044-03-15 12:00 BC"]


@pytest.fixture
def scratch(server_url: str) -> Iterator[str]:
    """A migrated scratch database with an empty trail, for one test."""
    url = db.create_database(server_url, prefix="dxplan_chain")
    upgrade(db.settings_for(url))
    yield url
    db.drop_database(server_url, url)


def _runtime_insert(url: str, at: str | None = None) -> tuple[Any, ...]:
    """Commit one audit row as the runtime role, asking for ``at`` if given; (the row's id,
    whether its stored ``at`` is the transaction's time, the role that wrote it)."""
    columns = "action, entity, entity_id" + (", at" if at else "")
    values = "'thing.create', 'thing', '1'" + (
        ", CAST(CAST(:at AS text) AS timestamptz)" if at else ""
    )

    async def run() -> tuple[Any, ...]:
        engine = make_engine(db.settings_for(url), null_pool=True)
        try:
            async with engine.begin() as connection:
                row = await connection.execute(
                    text(
                        f"INSERT INTO audit_log ({columns}) VALUES ({values})"
                        " RETURNING id, at = now(), current_user"
                    ),
                    {"at": at} if at else {},
                )
                return tuple(row.one())
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.mark.parametrize(
    "at", [*UNRENDERABLE_TIMES, "2001-01-01 00:00:00+00", "2999-12-31 00:00:00+07"]
)
def test_the_runtime_role_cannot_choose_an_audit_rows_time(
    scratch: str, monkeypatch: pytest.MonkeyPatch, capsys: Any, at: str
) -> None:
    """Whatever ``at`` the app's role asks for, the row gets its transaction's time: no
    poisoned or crashing row, no backdating; the chain stays valid."""
    _, stamped, role = _runtime_insert(scratch, at)
    assert (stamped, role) == (True, "dxplan_app")
    code, out = _verify(scratch, monkeypatch, capsys)
    assert (code, out["verified"]) == (0, 1)


@pytest.mark.parametrize("at", UNRENDERABLE_TIMES)
def test_verify_names_a_row_whose_time_the_owner_forged(
    scratch: str, monkeypatch: pytest.MonkeyPatch, capsys: Any, at: str
) -> None:
    """An owner can still write such a row (trigger disabled); the chain links it at
    commit, and verify reports it as the break (exit 1), never crashes."""
    _runtime_insert(scratch)
    # Three transactions: the chain's link is a pending trigger event until commit.
    _owner_sql(scratch, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_stamp")
    _owner_sql(
        scratch,
        "INSERT INTO audit_log (action, entity, entity_id, at)"
        f" VALUES ('thing.create', 'thing', 'forged', '{at}')",
    )
    _owner_sql(scratch, "ALTER TABLE audit_log ENABLE TRIGGER audit_log_stamp")
    _runtime_insert(scratch)
    code, out = _verify(scratch, monkeypatch, capsys)
    assert (code, out["verified"]) == (1, 1)
    assert (out["broken"]["seq"], out["broken"]["audit_id"]) == (2, 2)
    assert out["broken"]["problem"].startswith("audit row 2's time "), out

"""The `dxplan` command: serve, migrate, seed, users, remind, webhooks, audit,
rebuild-read-models, openapi."""

import argparse
import asyncio
import getpass
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings, get_settings

T = TypeVar("T")

logger = logging.getLogger("app.cli")


def _settings_with_database() -> Settings:
    """Settings whose database_url is set, starting the embedded server if needed."""
    settings = get_settings()
    if settings.database_url is None and settings.app_env == "production":
        sys.exit("dxplan: DATABASE_URL is required when APP_ENV=production")
    if settings.database_url is None:
        from app.core.embedded import EmbeddedUnavailableError, start_embedded

        try:
            url = start_embedded(settings.data_dir)
        except EmbeddedUnavailableError as exc:
            sys.exit(f"dxplan: {exc}")
        os.environ["DATABASE_URL"] = url  # inherited by uvicorn's worker processes
        get_settings.cache_clear()
        settings = get_settings()
        print(f"dxplan: embedded PostgreSQL in {settings.data_dir / 'pg'}", file=sys.stderr)
    return settings


def _migrate(settings: Settings) -> None:
    from app.core.migrate import upgrade

    upgrade(settings)


async def run_seed(
    settings: Settings, path: Path | None, *, demo: bool = False
) -> dict[str, object]:
    from app.core.db import make_engine, make_sessionmaker
    from app.services.demo import create_demo_users
    from app.services.plan_data import DEFAULT_PLAN_FILE, read_plan_file
    from app.services.reorganisation_data import reorganisations_beside
    from app.services.reorganisation_seed import load_reorganisations
    from app.services.seed import load_plan
    from app.services.successor_periods import sync_every_plan

    data = read_plan_file(path or DEFAULT_PLAN_FILE)
    # The reorganisations file beside the plan (plan_X.json: reorganisations_X.json), if any.
    reorganisations = reorganisations_beside(path or DEFAULT_PLAN_FILE)
    engine = make_engine(settings, null_pool=True)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            report = await load_plan(session, data)
            kept = []
            if reorganisations is not None:
                kept = await load_reorganisations(session, reorganisations, report)
                # The events just loaded decide who the open and planned periods of every
                # plan ask.
                await sync_every_plan(session)
            result = report.as_dict()
            if kept:  # recorded or corrected through the API: the file does not overwrite them
                result["kept"] = {"reorganisations": kept}
            if demo:
                result["demo_users_created"] = await create_demo_users(session)
    finally:
        await engine.dispose()
    return result


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.core.proxies import uvicorn_options
    from app.core.serving import server_options
    from app.core.steps import Steps

    # With --setup-log (make run): one line per step, the details in that file.
    steps = Steps(args.setup_log)
    settings = get_settings()
    if settings.database_url is None:
        with steps.step(f"starting PostgreSQL (embedded, in {settings.data_dir / 'pg'})"):
            settings = _settings_with_database()
    with steps.step("migrating"):
        _migrate(settings)
    with steps.step("loading the plan"):
        report = asyncio.run(run_seed(settings, None))
        print(f"dxplan: plan loaded {json.dumps(report, ensure_ascii=False)}", file=sys.stderr)
        print(
            "dxplan: sign in at /docs (Authorize); create accounts with `dxplan users create`, "
            "or demo accounts with `dxplan seed --demo` (see README)",
            file=sys.stderr,
        )
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    print(f"dxplan: serving on http://{host}:{port} (docs at /docs); Ctrl-C stops", file=sys.stderr)
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        **uvicorn_options(),  # X-Forwarded-For: only from DXPLAN_TRUSTED_PROXIES, by the app
        **server_options(settings),  # timeouts, concurrency limit, shutdown grace
    )


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = _settings_with_database()
    if args.downgrade:
        from app.core.migrate import downgrade

        downgrade(settings, revision=args.revision)
    else:
        from app.core.migrate import upgrade

        upgrade(settings, revision=args.revision)


def cmd_seed(args: argparse.Namespace) -> None:
    if args.demo and get_settings().app_env == "production":
        sys.exit("dxplan: refusing to create demo users when APP_ENV=production")
    settings = _settings_with_database()
    _print_json(asyncio.run(run_seed(settings, args.file, demo=args.demo)))


async def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from app.core.db import make_engine, make_sessionmaker

    engine = make_engine(settings, null_pool=True)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


def _new_password() -> str:
    password = os.environ.get("DXPLAN_NEW_PASSWORD")
    if password:
        return password
    if not sys.stdin.isatty():
        sys.exit("dxplan: set DXPLAN_NEW_PASSWORD or run in a terminal to be prompted")
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Repeat: "):
        sys.exit("dxplan: the passwords differ")
    return password


def cmd_users_create(args: argparse.Namespace) -> None:
    from app.core.errors import AppError
    from app.core.i18n import translate
    from app.schemas.users import UserCreate
    from app.services.users import create_user

    settings = _settings_with_database()
    body = UserCreate(
        username=args.username,
        full_name=args.full_name or args.username,
        email=args.email,
        phone=None,
        password=_new_password(),
        agency=args.agency,
        role=args.role,
    )
    try:
        user = asyncio.run(_with_session(settings, lambda s: create_user(s, body, settings)))
    except AppError as exc:
        rules = [rule for _, _, rule in getattr(exc, "field_errors", [])]
        reasons = ", ".join(translate(f"field.{r}", "en", **exc.params) for r in rules)
        sys.exit(f"dxplan: {exc.code}: {reasons or exc.detail('en')}")
    _print_json(user.model_dump(mode="json"))


def cmd_users_list(args: argparse.Namespace) -> None:
    from sqlalchemy import select
    from sqlmodel import col

    from app.models import Agency, User

    settings = _settings_with_database()

    async def rows(session: AsyncSession) -> list[tuple[str, str, str, str, bool]]:
        stmt = (
            select(
                col(User.username),
                col(User.full_name),
                col(Agency.code),
                col(User.role),
                col(User.is_active),
            )
            .join(Agency, col(Agency.id) == col(User.agency_id))
            .order_by(col(User.username))
        )
        if args.agency:
            stmt = stmt.where(col(Agency.code) == args.agency)
        return [tuple(r) for r in (await session.execute(stmt)).all()]  # type: ignore[misc]

    for username, full_name, agency, role, active in asyncio.run(_with_session(settings, rows)):
        print(
            f"{username:24} {agency:12} {role:12} {'active' if active else 'inactive':9} "
            f"{full_name}"
        )


def cmd_remind(args: argparse.Namespace) -> None:
    """Create the due-soon and overdue reminders, and log for the sync feed the plan items
    whose responsible agencies changed because a reorganisation took effect; safe to run
    every hour (no duplicates)."""
    from datetime import datetime

    from app.schemas.common import VIETNAM
    from app.services.notifications import create_reminders
    from app.services.responsibility_changes import log_events_taking_effect

    settings = _settings_with_database()
    today = args.today or datetime.now(VIETNAM).date()

    async def remind(session: AsyncSession) -> dict[str, object]:
        created: dict[str, object] = dict(await create_reminders(session, today))
        created["reorganisations"] = await log_events_taking_effect(session, today)
        return created

    _print_json(asyncio.run(_with_session(settings, remind)))


def cmd_webhooks_deliver(_: argparse.Namespace) -> None:
    """Post every webhook delivery due now, pass after pass, until none is left due; for
    deployments that run delivery from cron instead of the server's worker."""
    from app.core.db import make_engine, make_sessionmaker
    from app.services.webhooks import deliver_due, http_client

    settings = _settings_with_database()

    async def run() -> dict[str, int]:
        engine = make_engine(settings, null_pool=True)
        totals = {"attempted": 0, "delivered": 0}
        try:
            async with http_client() as client:
                while True:
                    attempted, delivered = await deliver_due(
                        make_sessionmaker(engine), client, settings
                    )
                    totals["attempted"] += attempted
                    totals["delivered"] += delivered
                    if attempted == 0:
                        return totals
        finally:
            await engine.dispose()

    _print_json(asyncio.run(run()))


def cmd_audit_verify(_: argparse.Namespace) -> None:
    """Walk the audit hash chain; print the count and head (exit 0) or the first break (exit 1)."""
    from app.core.db import make_engine
    from app.services.audit_chain import verify_chain

    settings = _settings_with_database()

    async def run() -> dict[str, object]:
        engine = make_engine(settings, null_pool=True)
        try:
            async with engine.connect() as connection:
                await connection.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
                async with connection.begin():
                    report = await verify_chain(connection)
        finally:
            await engine.dispose()
        return report.as_dict()

    result = asyncio.run(run())
    _print_json(result)
    if "broken" in result:
        sys.exit(1)


def cmd_rebuild_read_models(_: argparse.Namespace) -> None:
    """Recompute the read models of public progress from the approved items (migrations 0017
    and 0023; after a bulk load with triggers off); print their row counts."""
    from sqlalchemy import text

    from app.core.db import make_engine

    settings = _settings_with_database()

    async def run() -> dict[str, object]:
        engine = make_engine(settings, null_pool=True)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("SELECT rebuild_read_models()"))
                counts = (
                    await connection.execute(
                        text(
                            "SELECT (SELECT count(*) FROM task_progress_latest),"
                            " (SELECT count(*) FROM indicator_value_latest),"
                            " (SELECT count(*) FROM indicator_value_yearly)"
                        )
                    )
                ).one()
        finally:
            await engine.dispose()
        return {
            "task_progress_latest": counts[0],
            "indicator_value_latest": counts[1],
            "indicator_value_yearly": counts[2],
        }

    _print_json(asyncio.run(run()))


def cmd_openapi(_: argparse.Namespace) -> None:
    from app.main import create_app

    spec = create_app(get_settings()).openapi()
    sys.stdout.write(json.dumps(spec, ensure_ascii=False, indent=2) + "\n")


def _exit_if_misconfigured(exc: Exception) -> None:
    """A database that refuses this configuration (the login may not switch to the runtime
    role): exit 1 with its message, which names the fix, instead of a traceback. Looked up in
    sys.modules: only a command that has loaded it can raise it, and others stay light."""
    outage = sys.modules.get("app.core.outage")
    if outage is not None and isinstance(exc, outage.DatabaseConfigurationError):
        sys.exit(f"dxplan: {exc}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dxplan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, load the plan and serve the API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument(
        "--setup-log",
        type=Path,
        help="print one line per set-up step and write their details to this file",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.add_argument("--downgrade", action="store_true", help="downgrade to REVISION")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="load (or update) the plan data; idempotent")
    seed.add_argument("--file", type=Path, help="plan data file (default: the bundled one)")
    seed.add_argument(
        "--demo",
        action="store_true",
        help="also create one demo user per role (refused in production)",
    )
    seed.set_defaults(func=cmd_seed)

    users = sub.add_parser("users", help="manage staff accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser(
        "create", help="create a user; password from DXPLAN_NEW_PASSWORD or a prompt"
    )
    create.add_argument("--username", required=True)
    create.add_argument("--agency", required=True, help="agency code, e.g. STTTT")
    create.add_argument(
        "--role", required=True, choices=["officer", "agency_lead", "reviewer", "observer", "admin"]
    )
    create.add_argument("--full-name")
    create.add_argument("--email")
    create.set_defaults(func=cmd_users_create)
    listing = users_sub.add_parser("list", help="list users")
    listing.add_argument("--agency")
    listing.set_defaults(func=cmd_users_list)

    remind = sub.add_parser(
        "remind", help="notify agencies whose report is due within 7 days or overdue"
    )
    remind.add_argument(
        "--today",
        type=date.fromisoformat,
        help="the date to judge by, YYYY-MM-DD (default: today in Việt Nam)",
    )
    remind.set_defaults(func=cmd_remind)

    hooks = sub.add_parser("webhooks", help="webhook deliveries")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", required=True)
    deliver = hooks_sub.add_parser("deliver", help="post the deliveries due now (for cron)")
    deliver.set_defaults(func=cmd_webhooks_deliver)

    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify", help="check the audit hash chain; exit 1 at the first broken link"
    )
    verify.set_defaults(func=cmd_audit_verify)

    rebuild = sub.add_parser(
        "rebuild-read-models", help="recompute the read models of public progress"
    )
    rebuild.set_defaults(func=cmd_rebuild_read_models)

    openapi = sub.add_parser("openapi", help="print the OpenAPI document")
    openapi.set_defaults(func=cmd_openapi)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    # SIGTERM (kill, systemd, container runtimes) ends a command as Ctrl-C does: Python's
    # default for it kills the process without running exit handlers, and pgserver stops the
    # embedded PostgreSQL from one. While serving, uvicorn takes both signals over, shuts
    # down gracefully, then re-raises the signal: a KeyboardInterrupt it returns from.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        args.func(args)
    except KeyboardInterrupt:
        sys.exit(128 + signal.SIGINT)
    except Exception as exc:
        _exit_if_misconfigured(exc)
        raise
    finally:
        if previous is not None:  # called in-process (tests): leave the caller's handler
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()

"""The `dxplan` command: serve, migrate, seed, openapi."""

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from app.core.config import Settings, get_settings

logger = logging.getLogger("app.cli")


def _settings_with_database() -> Settings:
    """Settings whose database_url is set, starting the embedded server if needed."""
    settings = get_settings()
    if settings.database_url is None and settings.app_env == "production":
        sys.exit("dxplan: DATABASE_URL is required when APP_ENV=production")
    if settings.database_url is None:
        from app.core.embedded import start_embedded

        url = start_embedded(settings.data_dir)
        os.environ["DATABASE_URL"] = url  # inherited by uvicorn's worker processes
        get_settings.cache_clear()
        settings = get_settings()
        print(f"dxplan: embedded PostgreSQL in {settings.data_dir / 'pg'}", file=sys.stderr)
    return settings


def _migrate(settings: Settings) -> None:
    from app.core.migrate import upgrade

    upgrade(settings)


async def run_seed(settings: Settings, path: Path | None) -> dict[str, object]:
    from app.core.db import make_engine, make_sessionmaker
    from app.services.plan_data import DEFAULT_PLAN_FILE, read_plan_file
    from app.services.seed import load_plan

    data = read_plan_file(path or DEFAULT_PLAN_FILE)
    engine = make_engine(settings, null_pool=True)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            report = await load_plan(session, data)
    finally:
        await engine.dispose()
    return report.as_dict()


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = _settings_with_database()
    _migrate(settings)
    report = asyncio.run(run_seed(settings, None))
    print(f"dxplan: plan loaded {json.dumps(report, ensure_ascii=False)}", file=sys.stderr)
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    print(f"dxplan: serving on http://{host}:{port} (docs at /docs); Ctrl-C stops", file=sys.stderr)
    uvicorn.run(
        "app.main:app", host=host, port=port, workers=workers, log_config=None, proxy_headers=True
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
    settings = _settings_with_database()
    _print_json(asyncio.run(run_seed(settings, args.file)))


def cmd_openapi(_: argparse.Namespace) -> None:
    from app.main import create_app

    spec = create_app(get_settings()).openapi()
    sys.stdout.write(json.dumps(spec, ensure_ascii=False, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dxplan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, load the plan and serve the API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.add_argument("--downgrade", action="store_true", help="downgrade to REVISION")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="load (or update) the plan data; idempotent")
    seed.add_argument("--file", type=Path, help="plan data file (default: the bundled one)")
    seed.set_defaults(func=cmd_seed)

    openapi = sub.add_parser("openapi", help="print the OpenAPI document")
    openapi.set_defaults(func=cmd_openapi)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    args.func(args)


if __name__ == "__main__":
    main()

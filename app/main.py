"""Application factory: settings, lifespan (engine made and disposed here), routers."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.types import Receive, Scope, Send

from app.core.body_limit import BodyLimitMiddleware, UploadRoutes
from app.core.caching import ConditionalGetMiddleware
from app.core.config import Settings, get_settings
from app.core.data_version import VersionWatcher
from app.core.db import make_engine, make_sessionmaker
from app.core.docs import install_docs
from app.core.errors import install_error_handlers
from app.core.hygiene import RejectNulMiddleware
from app.core.idempotency import install_idempotency
from app.core.logging import RequestIdMiddleware, configure_logging
from app.core.methods import MethodsMiddleware
from app.core.metrics import RequestMetricsMiddleware
from app.core.openapi import install_openapi
from app.core.outage import (
    DatabaseOutageMiddleware,
    check_at_startup,
    install_outage_handling,
    quiet_abandoned_connects,
)
from app.core.proxies import ClientAddressMiddleware, TrustedProxies, resolve_client
from app.core.public_cache import PublicCache, PublicCacheMiddleware
from app.core.routing import flatten_included_routers
from app.core.security import signing_key
from app.routers import (
    agencies,
    attachments,
    audit,
    auth,
    dashboard,
    documents,
    health,
    indicators,
    me,
    meta,
    notifications,
    open_data,
    periods,
    plans,
    reorganisations,
    reports,
    search,
    sections,
    sync,
    tasks,
    users,
    webhooks,
)
from app.services.progress import DERIVED_STATUS_RULES
from app.services.webhooks import run_worker

API_PREFIX = "/api/v1"
logger = logging.getLogger(__name__)

DESCRIPTION = """
Plan views of **Smart Hải Dương**: Hải Dương province's digital-transformation action plan
**2358/KH-UBND** (25/6/2021) as data: its sections, tasks, indicators, legal documents and the
agencies that lead them.

Conventions:
- JSON; plan items are named by stable codes (`A.I.1`, `B.3.2`, `CT-2025-01`, `II.5.a`).
- Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`;
  validation errors list each field in `errors`. Messages follow `Accept-Language`
  (Vietnamese by default, English with `en`).
- Lists return `{"items", "total", "next_cursor"}`; `limit` is 1-200 (default 50); pass
  `next_cursor` back as `cursor`. Plan items are in plan order.
- Search (`q`) ignores case and Vietnamese diacritics and matches at word starts.
"""
DESCRIPTION += DERIVED_STATUS_RULES

TAGS = [
    {"name": "plan", "description": "The plan document itself."},
    {"name": "sections", "description": "Numbered parts of the plan body (I-IV)."},
    {"name": "tasks", "description": "Tasks and projects of Phụ lục 3."},
    {"name": "indicators", "description": "Indicators and their targets (Phụ lục 1)."},
    {"name": "documents", "description": "Legal documents to issue (Phụ lục 2)."},
    {"name": "agencies", "description": "Agencies and groups of agencies."},
    {
        "name": "reorganisations",
        "description": "Recorded mergers, renames and dissolutions of agencies, with their "
        "legal basis; every plan item's `responsible` follows them.",
    },
    {"name": "auth", "description": "Sign in, token refresh and sign out."},
    {"name": "me", "description": "The signed-in user."},
    {"name": "users", "description": "Staff accounts."},
    {"name": "periods", "description": "Reporting periods: annual (due 1 December) and ad hoc."},
    {"name": "reports", "description": "Agency reports, their items and their review."},
    {"name": "dashboard", "description": "Plan status at a glance."},
    {"name": "audit", "description": "Who changed what and when: the append-only audit trail."},
    {"name": "meta", "description": "Enum values with Vietnamese and English labels."},
    {"name": "search", "description": "One ranked search across the plan."},
    {"name": "sync", "description": "The change feed for offline apps."},
    {"name": "open-data", "description": "Approved figures as CSV or JSON, openly licensed."},
    {"name": "webhooks", "description": "Signed event deliveries to integrators' receivers."},
    {"name": "health", "description": "Liveness and readiness."},
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # Refuses to start in production without a strong key.
    app.state.signing_key = signing_key(settings)
    quiet_abandoned_connects(asyncio.get_running_loop())
    engine = make_engine(settings, null_pool=settings.db_null_pool)
    app.state.outage_monitor.watch(engine)
    try:  # a login that may not switch to the runtime role stops the start, with the fix
        await check_at_startup(engine, app.state.outage_monitor)
    except BaseException:
        await engine.dispose()
        raise
    app.state.engine = engine
    versions: VersionWatcher = app.state.data_version
    versions.watch_commits(engine)
    if settings.public_cache_entries:  # nothing to keep fresh without the cache
        versions.start()
    app.state.sessionmaker = make_sessionmaker(engine, exact_total_limit=settings.exact_total_limit)
    stop = asyncio.Event()
    worker = (
        asyncio.create_task(run_worker(app.state.sessionmaker, settings, stop))
        if settings.webhook_worker
        else None
    )
    try:
        yield
    finally:
        stop.set()
        try:
            if worker is not None:  # a pass in flight ends within the webhook timeout
                await asyncio.wait_for(worker, settings.webhook_timeout_seconds + 5)
        except Exception:
            logger.exception("webhook worker did not stop cleanly")
        finally:
            await versions.stop()
            await engine.dispose()


class App(FastAPI):
    """FastAPI whose cache hits are answered before anything else runs: the hit path needs
    no database and no middleware (app.core.public_cache)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            state = self.state
            if await state.public_cache.serve_hit(scope, send, self, state.resolve_client):
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = App(
        title="Smart Hải Dương: plan 2358/KH-UBND API",
        version="1.0.0",
        summary="Tasks, indicators, documents and agencies of the province's "
        "digital-transformation plan.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # served with local assets by install_docs
        redoc_url=None,
    )
    app.state.settings = settings
    # The cache of public answers, and the data version PostgreSQL pushes to it.
    app.state.data_version = VersionWatcher(settings)
    app.state.public_cache = PublicCache(
        max_entries=settings.public_cache_entries, versions=app.state.data_version
    )
    trusted = TrustedProxies(settings.trusted_proxies)
    app.state.resolve_client = lambda scope: resolve_client(scope, trusted)
    install_error_handlers(app)
    install_outage_handling(app)
    install_openapi(app)
    install_docs(app)

    api = APIRouter(prefix=API_PREFIX)
    for module in (
        plans,
        sections,
        tasks,
        indicators,
        documents,
        agencies,
        reorganisations,
        auth,
        me,
        notifications,
        users,
        periods,
        reports,
        audit,
    ):
        api.include_router(module.router)
    api.include_router(reports.queue_router)
    api.include_router(attachments.router)
    api.include_router(dashboard.router)
    api.include_router(meta.router)
    api.include_router(search.router)
    api.include_router(open_data.router)
    api.include_router(sync.router)
    api.include_router(webhooks.router)
    app.include_router(api)
    app.include_router(health.router)
    # Every POST honours Idempotency-Key; before anything walks the routes (below).
    install_idempotency(app)
    # One flat table of routes: matching no longer walks the included routers' tree.
    flatten_included_routers(app)
    # Request counts and latencies by handler and status (app.core.metrics); the endpoint
    # /metrics is the instrumentator's.
    app.add_middleware(RequestMetricsMiddleware)
    Instrumentator().expose(app, include_in_schema=False)
    app.add_middleware(
        ConditionalGetMiddleware,
        max_age=settings.cache_max_age,
        private=(f"{API_PREFIX}/sync",),
        shared=("/openapi.json", "/docs", "/docs/", "/redoc", "/docs-assets/"),
    )
    uploads = UploadRoutes.of(app.routes)
    app.add_middleware(RejectNulMiddleware, uploads=uploads)
    # A database outage that escapes the layers inside answers 503.
    app.add_middleware(DatabaseOutageMiddleware)
    # Bodies are bounded before any layer below reads them; the 413 carries a request id.
    app.add_middleware(BodyLimitMiddleware, settings=settings, uploads=uploads)
    # HEAD as GET without the body, OPTIONS and every 405 with the path's whole Allow.
    app.add_middleware(MethodsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    # Hits of the cache of public answers are answered before every layer below (a miss goes
    # through them all); the client address is resolved first, for uvicorn's access log.
    app.add_middleware(PublicCacheMiddleware, cache=app.state.public_cache)
    # Outermost of these: every layer below, and uvicorn's access log, see the client address
    # resolved from DXPLAN_TRUSTED_PROXIES (the scope is changed in place).
    app.add_middleware(ClientAddressMiddleware, trusted=settings.trusted_proxies)
    return app


app = create_app()

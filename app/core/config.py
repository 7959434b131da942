"""One settings object, read from environment variables.

Most variables carry the ``DXPLAN_`` prefix; the few that deployment tooling already knows by
a conventional name (``DATABASE_URL``, ``APP_ENV``) are read under that name too.
"""

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DXPLAN_", extra="ignore")

    app_env: Literal["development", "test", "production"] = Field(
        default="development", validation_alias=AliasChoices("APP_ENV", "DXPLAN_APP_ENV")
    )
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "DXPLAN_DATABASE_URL")
    )
    # Database roles (README "Database roles"): migrations run as the owner, through this URL
    # when set (else DATABASE_URL); the service's requests always run as the runtime role,
    # logging in as it or switching to it (SET ROLE) from a login that is a member of it.
    migration_database_url: str | None = None
    db_runtime_role: str = Field(default="dxplan_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    # `dxplan serve` (app/core/serving.py): an idle keep-alive connection is closed after
    # keep_alive seconds, one whose request head is incomplete after header_timeout seconds
    # (from the connection or the previous answer); past limit_concurrency connections or
    # requests per worker, requests get 503 (0: no limit); on SIGTERM/SIGINT requests in
    # flight get shutdown_grace seconds to finish.
    http_keep_alive_seconds: int = Field(default=5, ge=1, le=3600)
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    # A request whose body stops arriving (no byte for this long while the app waits for
    # it) is answered 408 and its connection closed (app/core/body_limit.py).
    http_body_timeout_seconds: float = Field(default=20.0, gt=0, le=3600)
    http_limit_concurrency: int = Field(default=1000, ge=0)
    shutdown_grace_seconds: int = Field(default=30, ge=1, le=3600)
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_max_overflow: int = Field(default=5, ge=0, le=100)
    # Database outages (app/core/outage.py): opening a connection gives up after the connect
    # timeout, waiting for a pooled one after the pool timeout; the request then answers 503
    # with Retry-After: db_retry_after_seconds.
    db_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    db_pool_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    # A database that stops answering without closing anything: a pooled connection whose
    # ping has no answer within the ping timeout is dropped and a new one opened; a statement
    # with no answer within the command timeout gives up (503). The command timeout must
    # exceed any legitimate statement, lock waits included.
    db_ping_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    db_command_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    db_retry_after_seconds: int = Field(default=5, ge=1, le=3600)
    # Open a fresh connection per session instead of pooling; for callers that run the app
    # on more than one event loop (the synchronous test client).
    db_null_pool: bool = False
    plan_code: str = "2358/KH-UBND"
    log_level: str = "INFO"
    log_json: bool = True
    migrations_dir: Path | None = None
    # Licence and source stated in every open-data file.
    open_data_licence: str = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
    open_data_source: str = (
        "UBND tỉnh Hải Dương, Kế hoạch 2358/KH-UBND; số liệu báo cáo đã được Sở TTTT phê duyệt"
    )
    # Seconds a public GET may be cached by the app and proxies.
    cache_max_age: int = Field(default=60, ge=0, le=86400)
    # Finished public answers kept per process, valid while the data version stands (0: off).
    public_cache_entries: int = Field(default=512, ge=0, le=100_000)
    # The data version is pushed to every process (LISTEN/NOTIFY on one connection each,
    # app/core/data_version.py), through this URL when set (else DATABASE_URL): a direct
    # connection to PostgreSQL, since a transaction-pooling PgBouncer cannot carry LISTEN.
    # The listener checks the version every notify_check_seconds; a process whose listener
    # has not answered a check begun within twice that reads the version per request.
    notify_database_url: str | None = None
    notify_check_seconds: float = Field(default=1.0, gt=0, le=60)
    # Lists that grow with history (audit, reports, notifications, ...) count their rows up
    # to this many; past it `total` is the planner's estimate and `total_exact` is false
    # (app/services/common.py count_total), so no page costs a count of the whole history.
    exact_total_limit: int = Field(default=1000, ge=1, le=1_000_000)
    # The largest request body accepted (JSON, forms, anything but an evidence upload);
    # larger ones are refused with 413 before they are read.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    # Evidence files: the largest upload accepted (an upload's body may pass it by the
    # multipart envelope, 64 KiB), and where the blobs are kept by SHA-256
    # (default <data_dir>/files).
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    storage_dir: Path | None = None
    # Webhooks: the in-process delivery worker (off to leave delivery to `dxplan webhooks
    # deliver` run from cron), how often it looks for due deliveries, the HTTP timeout, and
    # the retry schedule: attempt n+1 waits base * 2**(n-1) seconds (at most the cap) after
    # failed attempt n, until max attempts.
    webhook_worker: bool = True
    webhook_poll_seconds: float = Field(default=2.0, gt=0, le=3600)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhook_backoff_base_seconds: float = Field(default=30.0, gt=0, le=86400)
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0, le=7 * 86400)
    webhook_max_attempts: int = Field(default=10, ge=1, le=50)
    # Networks webhooks may be posted to although they are not public (CIDRs, comma-separated;
    # default none): loopback, link-local, private, shared, multicast, reserved and unspecified
    # addresses are refused otherwise, at registration and on the address resolved for every
    # delivery (app/services/webhook_destinations.py). For receivers on a provincial network.
    webhook_allowed_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = []

    # Identity. The signing key must be at least 32 bytes; in production it is required, in
    # development one is generated once into the data folder.
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "dxplan"
    jwt_audience: str = "dxplan-api"
    access_token_minutes: int = Field(default=15, ge=1, le=60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    password_min_length: int = Field(default=10, ge=8, le=64)
    # Brute force: failures counted per username and per client address in a window; past
    # the threshold, sign-in answers 429 for a back-off that doubles, up to the maximum.
    login_window_minutes: int = Field(default=15, ge=1)
    login_max_failures_per_user: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_lockout_seconds: int = Field(default=60, ge=1)
    login_lockout_max_seconds: int = Field(default=3600, ge=1)
    # Users of an agency that has ended (its valid_to, derived from the reorganisations, is
    # before today in Việt Nam) cannot sign in or refresh, and no user is created in or moved
    # into such an agency (README "Reorganisations"). Off only for data that predates the
    # reorganisations (the test suite's accounts sit in agencies that ended in 2025).
    refuse_ended_agencies: bool = True
    # Idempotency-Key: how long a key and its answer are kept; answers of the auth routes
    # (tokens, sealed) only briefly (app/core/idempotency.py).
    idempotency_ttl_seconds: int = Field(default=86400, ge=60, le=30 * 86400)
    idempotency_auth_ttl_seconds: int = Field(default=300, ge=10, le=3600)
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated;
    # default none). Only when the TCP peer is one of them is the client address taken from
    # that header (the rightmost address that is not itself a trusted proxy); otherwise the
    # peer's address is the client's, whatever the headers say (app/core/proxies.py).
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = []

    @field_validator("trusted_proxies", "webhook_allowed_networks", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            # Host bits are allowed (10.0.0.1/8 means 10.0.0.0/8), as in nginx's real_ip.
            return [ip_network(str(part).strip(), strict=False) for part in value]
        return value

    @property
    def resolved_migrations_dir(self) -> Path:
        if self.migrations_dir is not None:
            return self.migrations_dir
        for candidate in (REPO_ROOT / "migrations", Path.cwd() / "migrations"):
            if (candidate / "env.py").exists():
                return candidate
        raise RuntimeError("migrations folder not found; set DXPLAN_MIGRATIONS_DIR")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the asyncpg dialect SQLAlchemy needs."""
    for prefix in (
        "postgresql+asyncpg://",
        "postgresql+psycopg://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a PostgreSQL URL")

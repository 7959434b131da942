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
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_max_overflow: int = Field(default=5, ge=0, le=100)
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
    # Evidence files: the largest upload accepted, and where the blobs are kept by SHA-256
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
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated;
    # default none). Only when the TCP peer is one of them is the client address taken from
    # that header (the rightmost address that is not itself a trusted proxy); otherwise the
    # peer's address is the client's, whatever the headers say (app/core/proxies.py).
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = []

    @field_validator("trusted_proxies", mode="before")
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

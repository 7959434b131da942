"""One settings object, read from environment variables.

Most variables carry the ``DXPLAN_`` prefix; the few that deployment tooling already knows by
a conventional name (``DATABASE_URL``, ``APP_ENV``) are read under that name too.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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

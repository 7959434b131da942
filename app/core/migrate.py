"""Alembic, driven from code so the CLI, the server and the tests share one path."""

from alembic import command
from alembic.config import Config

from app.core.config import REPO_ROOT, Settings


def alembic_config(settings: Settings, url: str | None = None) -> Config:
    ini = REPO_ROOT / "alembic.ini"
    config = Config(str(ini)) if ini.exists() else Config()
    config.set_main_option("script_location", str(settings.resolved_migrations_dir))
    config.attributes["configure_logger"] = False
    # Migrations run as the owner: the migration URL when set, else DATABASE_URL.
    target = url or settings.migration_database_url or settings.database_url
    config.attributes["runtime_role"] = settings.db_runtime_role
    if target:
        config.set_main_option("sqlalchemy.url", target.replace("%", "%%"))
    return config


def upgrade(settings: Settings, url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings, url), revision)


def downgrade(settings: Settings, url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(settings, url), revision)

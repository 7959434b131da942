"""Staff accounts, their refresh tokens, and failed-login counters.

Everything that must hold across workers (token families, lockouts) lives here, in
PostgreSQL, never in process memory.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, Column, DateTime
from sqlmodel import Field, SQLModel

from app.models.common import Timestamp, created_at, updated_at


def _tz(nullable: bool = True) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('officer', 'agency_lead', 'reviewer', 'observer', 'admin')", name="role"
        ),
        CheckConstraint("username ~ '^[a-z0-9._-]{3,64}$'", name="username"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    full_name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    password_hash: str = Field(max_length=255)
    agency_id: int = Field(foreign_key="agencies.id", ondelete="RESTRICT", index=True)
    role: str = Field(max_length=16)
    is_active: bool = True
    # Bumped on every change; the ETag of the user, checked by If-Match.
    version: int = 1
    # Access tokens issued before this instant are refused (password change, deactivation).
    tokens_valid_after: datetime | None = Field(default=None, sa_column=_tz())
    last_login_at: datetime | None = Field(default=None, sa_column=_tz())
    search_text: str = ""
    created_at: Timestamp = created_at()
    updated_at: Timestamp = updated_at()


class AuthSession(SQLModel, table=True):
    """One sign-in: its refresh-token family (same id) and every access token issued in it
    (claim ``sid``). Revoking the row ends them all at once, on every worker, because each
    request checks it in the query that reloads the user."""

    __tablename__ = "auth_sessions"

    id: UUID = Field(primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: Timestamp = created_at()
    revoked_at: datetime | None = Field(default=None, sa_column=_tz())


class RefreshToken(SQLModel, table=True):
    """One refresh token; rotation chains them into a family. Only a hash is stored."""

    __tablename__ = "refresh_tokens"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    family_id: UUID = Field(foreign_key="auth_sessions.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: Timestamp = created_at()
    expires_at: datetime = Field(sa_column=_tz(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=_tz())
    revoked_at: datetime | None = Field(default=None, sa_column=_tz())


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per key ("user:<name>" or "addr:<ip>") and the lockout they earn."""

    __tablename__ = "login_throttles"

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    window_started_at: datetime = Field(sa_column=_tz(nullable=False))
    locked_until: datetime | None = Field(default=None, sa_column=_tz())

"""Reorganisations of agencies as data: events, their agencies, and transfers.

Public tables (``GET /reorganisations`` and every answer's ``responsible`` are built from
them), so each gets the data-version trigger. The runtime role (``DXPLAN_DB_RUNTIME_ROLE``,
resolved as migration 0011 does) is granted its ordinary rights on them and their sequence
explicitly: 0011's default privileges only cover tables created by the role that ran 0011,
and a later migration may run as another owner role
(tests/migrations/test_migrations_and_seed.py checks it).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 12:00:00+00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("reorganisations", "reorganisation_agencies", "reorganisation_transfers")
SEQUENCES = ("reorganisations_id_seq",)


def _runtime_role() -> str:
    """As in migration 0011: the Alembic config's ``runtime_role``, else the settings'."""
    role = context.config.attributes.get("runtime_role")
    if not role:
        from app.core.config import get_settings

        role = get_settings().db_runtime_role
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise RuntimeError(f"invalid runtime role name {role!r}")
    return str(role)


def upgrade() -> None:
    op.create_table(
        "reorganisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("date_note", sa.String(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "legal_basis",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "sources", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "kind IN ('merge', 'split', 'rename', 'dissolve', 'transfer', 'level_abolished')",
            name=op.f("ck_reorganisations_kind"),
        ),
        sa.CheckConstraint("origin IN ('file', 'api')", name=op.f("ck_reorganisations_origin")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_reorganisations_version")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reorganisations")),
        sa.UniqueConstraint("code", name=op.f("uq_reorganisations_code")),
    )
    op.create_table(
        "reorganisation_agencies",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "role IN ('predecessor', 'successor', 'introduced')",
            name=op.f("ck_reorganisation_agencies_role"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_reorganisation_agencies_agency_id_agencies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["reorganisations.id"],
            name=op.f("fk_reorganisation_agencies_event_id_reorganisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "event_id", "agency_id", "role", name=op.f("pk_reorganisation_agencies")
        ),
    )
    op.create_index(
        op.f("ix_reorganisation_agencies_agency_id"),
        "reorganisation_agencies",
        ["agency_id"],
        unique=False,
    )
    op.create_table(
        "reorganisation_transfers",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("function", sa.String(), nullable=True),
        sa.Column(
            "items", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("from_agency_id", sa.Integer(), nullable=True),
        sa.Column("to_agency_id", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["reorganisations.id"],
            name=op.f("fk_reorganisation_transfers_event_id_reorganisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_agency_id"],
            ["agencies.id"],
            name=op.f("fk_reorganisation_transfers_from_agency_id_agencies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["to_agency_id"],
            ["agencies.id"],
            name=op.f("fk_reorganisation_transfers_to_agency_id_agencies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("event_id", "position", name=op.f("pk_reorganisation_transfers")),
    )
    for table in TABLES:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_bump_data_version"
            f" AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_data_version()"
        )
    role = _runtime_role()
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {role}")
    op.execute(f"GRANT USAGE ON SEQUENCE {', '.join(SEQUENCES)} TO {role}")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_bump_data_version ON {table}")
    op.drop_table("reorganisation_transfers")
    op.drop_index(
        op.f("ix_reorganisation_agencies_agency_id"), table_name="reorganisation_agencies"
    )
    op.drop_table("reorganisation_agencies")
    op.drop_table("reorganisations")

"""Reorganisations of agencies as data: events, their agencies, and transfers.

Public tables (``GET /reorganisations`` and every answer's ``responsible`` are built from
them), so each gets the data-version trigger. The runtime role gets its ordinary rights on
them and their sequence through the default privileges migration 0011 set for tables the
owner creates (tests/test_reorganisations.py checks it).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("reorganisations", "reorganisation_agencies", "reorganisation_transfers")


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


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_bump_data_version ON {table}")
    op.drop_table("reorganisation_transfers")
    op.drop_index(
        op.f("ix_reorganisation_agencies_agency_id"), table_name="reorganisation_agencies"
    )
    op.drop_table("reorganisation_agencies")
    op.drop_table("reorganisations")

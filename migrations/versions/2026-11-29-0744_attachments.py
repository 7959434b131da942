"""Attachments: evidence files on report items (task updates, indicator values, documents).

The bytes are kept outside the database, named by SHA-256; a row ties one file to one item
by (item_kind, item_id). Items live in three tables, so that link has no foreign key:
instead a trigger on each item table deletes an item's attachment rows with the item.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 07:44:58.164036+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ITEM_TABLES = {
    "task_updates": "task-updates",
    "indicator_values": "indicator-values",
    "document_updates": "document-updates",
}


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("item_kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.CHAR(length=64), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')",
            name=op.f("ck_attachments_content_type"),
        ),
        sa.CheckConstraint(
            "item_kind IN ('task-updates', 'indicator-values', 'document-updates')",
            name=op.f("ck_attachments_item_kind"),
        ),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_attachments_sha256")),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_attachments_size_bytes")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_attachments_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_attachments_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index("ix_attachments_item", "attachments", ["item_kind", "item_id"], unique=False)
    op.create_index(op.f("ix_attachments_report_id"), "attachments", ["report_id"], unique=False)
    op.create_index(op.f("ix_attachments_sha256"), "attachments", ["sha256"], unique=False)
    op.execute(
        """
        CREATE FUNCTION attachments_follow_item() RETURNS trigger AS $$
        BEGIN
            DELETE FROM attachments WHERE item_kind = TG_ARGV[0] AND item_id = OLD.id;
            RETURN OLD;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    for table, kind in ITEM_TABLES.items():
        op.execute(
            f"CREATE TRIGGER {table}_attachments AFTER DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION attachments_follow_item('{kind}')"
        )


def downgrade() -> None:
    for table in ITEM_TABLES:
        op.execute(f"DROP TRIGGER {table}_attachments ON {table}")
    op.execute("DROP FUNCTION attachments_follow_item()")
    op.drop_index(op.f("ix_attachments_sha256"), table_name="attachments")
    op.drop_index(op.f("ix_attachments_report_id"), table_name="attachments")
    op.drop_index("ix_attachments_item", table_name="attachments")
    op.drop_table("attachments")

"""Evidence files attached to report items.

The bytes live outside the database, content-addressed by SHA-256 (identical content is
stored once); a row says which item a file supports and what it was called. An item is one
of three tables, so the link is (item_kind, item_id) without a foreign key; a trigger per
item table removes an item's attachment rows with it.
"""

from sqlalchemy import CHAR, BigInteger, CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.models.common import Timestamp, created_at

ITEM_KINDS = ("task-updates", "indicator-values", "document-updates")
CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint(_in("item_kind", ITEM_KINDS), name="item_kind"),
        CheckConstraint(_in("content_type", CONTENT_TYPES), name="content_type"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256"),
        CheckConstraint("size_bytes > 0", name="size_bytes"),
        Index("ix_attachments_item", "item_kind", "item_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="reports.id", ondelete="CASCADE", index=True)
    item_kind: str = Field(max_length=20)
    item_id: int
    # Lowercase hex; the blob's name in storage. Indexed: deleting a row asks whether
    # another still uses the blob.
    sha256: str = Field(sa_type=CHAR(64), index=True)
    filename: str = Field(max_length=255)  # the uploader's name, without any folder
    content_type: str = Field(max_length=40)  # detected from the bytes, never declared
    size_bytes: int = Field(sa_type=BigInteger)
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: Timestamp = created_at()

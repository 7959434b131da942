"""Legal documents and programmes to issue (Phụ lục 2)."""

from sqlalchemy import CheckConstraint, PrimaryKeyConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.common import AgencyLinkBase, Timestamp, created_at, updated_at


class Document(SQLModel, table=True):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("plan_id", "number"),
        UniqueConstraint("plan_id", "code"),
        CheckConstraint("recurrence IN ('once', 'annual')", name="recurrence"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plans.id", ondelete="CASCADE")
    number: int
    code: str = Field(max_length=16)
    title: str
    type: str = Field(max_length=40)
    recurrence: str = Field(default="once", max_length=8)
    lead_text: str = ""
    coordinating_text: str = ""
    note: str | None = None
    sort_order: int = 0
    search_text: str = ""
    created_at: Timestamp = created_at()
    updated_at: Timestamp = updated_at()


class DocumentAgency(AgencyLinkBase, table=True):
    __tablename__ = "document_agencies"
    __table_args__ = (
        PrimaryKeyConstraint("document_id", "agency_id", "role"),
        CheckConstraint("role IN ('lead', 'coordinating')", name="role"),
    )

    document_id: int = Field(foreign_key="documents.id", ondelete="CASCADE")

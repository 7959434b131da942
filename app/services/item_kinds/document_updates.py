"""Status of a legal document of Phụ lục 2: drafting, or issued with number and date."""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import FieldValidationError
from app.models import Document, DocumentAgency, DocumentUpdate, Plan
from app.schemas.reports import (
    DocumentUpdateCreate,
    DocumentUpdatePage,
    DocumentUpdatePatch,
    DocumentUpdateRead,
)
from app.services.item_kinds.base import Extras, ItemKind, plan_item_id, titled
from app.services.successors import require_assigned


class DocumentUpdates(
    ItemKind[DocumentUpdate, DocumentUpdateCreate, DocumentUpdatePatch, DocumentUpdateRead]
):
    order = 3
    path = "document-updates"
    entity = "document_update"
    model = DocumentUpdate
    create_schema = DocumentUpdateCreate
    patch_schema = DocumentUpdatePatch
    read_schema = DocumentUpdateRead
    page_schema = DocumentUpdatePage
    subject_fields = frozenset({"document"})
    subject_doc = "document (`document`: its row number in Phụ lục 2)"
    rules_doc = " Status `issued` needs `issued_number` and `issued_on`."

    async def resolve(
        self,
        session: AsyncSession,
        plan: Plan,
        agency_id: int,
        body: DocumentUpdateCreate,
        on: date,
    ) -> dict[str, Any]:
        document_id = await plan_item_id(
            session, Document, plan, Document.number, body.document, "document"
        )
        code = (
            await session.execute(select(col(Document.code)).where(col(Document.id) == document_id))
        ).scalar_one()
        await require_assigned(
            session, DocumentAgency, "document_id", document_id, code, agency_id, on, "document"
        )
        return {"document_id": document_id}

    async def validate(self, session: AsyncSession, item: DocumentUpdate) -> None:
        if item.status == "issued" and (not item.issued_number or item.issued_on is None):
            raise FieldValidationError([("issued_number", "issued_fields_required")])

    async def extras(self, session: AsyncSession, items: list[DocumentUpdate]) -> Extras:
        refs = await titled(session, Document, col(Document.code), [i.document_id for i in items])
        return {i.id or 0: {"document": refs[i.document_id]} for i in items}


KIND = DocumentUpdates()

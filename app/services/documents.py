"""Document queries (Phụ lục 2)."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import NotFoundError, UnknownFilterValueError
from app.core.pagination import SortKey
from app.models import Document, DocumentAgency, Plan
from app.schemas.documents import DocumentPage, DocumentRead
from app.services.common import (
    agency_id_for_filter,
    fetch_page,
    linked_to_agency,
    load_agency_links,
    search_clause,
)


async def _read(session: AsyncSession, documents: list[Document]) -> list[DocumentRead]:
    links = await load_agency_links(
        session, DocumentAgency, "document_id", [d.id or 0 for d in documents]
    )
    return [
        DocumentRead(
            number=d.number,
            code=d.code,
            title=d.title,
            type=d.type,
            recurrence=d.recurrence,
            lead_text=d.lead_text,
            coordinating_text=d.coordinating_text,
            note=d.note,
            **links[d.id or 0],
        )
        for d in documents
    ]


async def list_documents(
    session: AsyncSession,
    plan: Plan,
    *,
    type_: str | None,
    agency: str | None,
    q: str | None,
    after: SortKey | None,
    limit: int,
) -> DocumentPage:
    stmt = select(Document).where(col(Document.plan_id) == plan.id)
    if type_ is not None:
        types = (
            (
                await session.execute(
                    select(col(Document.type)).where(col(Document.plan_id) == plan.id).distinct()
                )
            )
            .scalars()
            .all()
        )
        if type_ not in types:
            raise UnknownFilterValueError("type", type_)
        stmt = stmt.where(col(Document.type) == type_)
    if agency is not None:
        agency_id = await agency_id_for_filter(session, agency)
        stmt = stmt.where(
            linked_to_agency(DocumentAgency, "document_id", col(Document.id), agency_id)
        )
    if q is not None and (clause := search_clause(col(Document.search_text), q)) is not None:
        stmt = stmt.where(clause)
    rows, total, next_cursor = await fetch_page(
        session,
        stmt,
        sort_column=col(Document.sort_order),
        id_column=col(Document.id),
        after=after,
        limit=limit,
        list_name="documents",
    )
    items = await _read(session, [r[0] for r in rows])
    return DocumentPage(items=items, total=total, next_cursor=next_cursor)


async def get_document(session: AsyncSession, plan: Plan, number: int) -> DocumentRead:
    document = (
        await session.execute(
            select(Document).where(col(Document.plan_id) == plan.id, col(Document.number) == number)
        )
    ).scalar()
    if document is None:
        raise NotFoundError("document", number)
    return (await _read(session, [document]))[0]


async def read_documents(
    session: AsyncSession, plan: Plan, numbers: Sequence[int]
) -> list[DocumentRead]:
    """The plan's documents of these row numbers as `GET /documents/{number}` shows each,
    in plan order, in a fixed number of queries (the sync feed); unknown ones left out."""
    documents = list(
        (
            await session.execute(
                select(Document)
                .where(col(Document.plan_id) == plan.id, col(Document.number).in_(list(numbers)))
                .order_by(col(Document.sort_order))
            )
        ).scalars()
    )
    return await _read(session, documents) if documents else []

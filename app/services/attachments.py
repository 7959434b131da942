"""Evidence files on report items: upload, list, download, delete.

Access follows the item, with no rule of its own: a file is seen by whoever may see its
report (``load_report``: 404 otherwise) and added or removed by whoever may update its item
now (``update`` in ``item_actions``: 403 for a role or agency that never may, 409 while the
report's state forbids it). Rows are written in the request's transaction; blobs are
content-addressed files (app.core.storage), shared by every row with the same SHA-256. A
transaction-scoped advisory lock per SHA-256 orders "store the blob, insert a row" against
"delete the last row, remove the blob", so a blob is never removed under a new row.
"""

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.config import Settings
from app.core.errors import NotFoundError
from app.core.http import check_if_match, etag
from app.core.storage import (
    blob_exists,
    blob_path,
    discard,
    place,
    receive_upload,
    remove_blob,
    storage_root,
)
from app.models import Attachment, Plan, Report, ReportingPeriod, User
from app.schemas.attachments import AttachmentRead
from app.services import audit
from app.services.report_items import (
    KINDS,
    Kind,
    _require_item,  # the rule every item write uses: 403, then 409
    item_actions,
    load_item,
)
from app.services.reports import load_report, touch

logger = logging.getLogger("app.attachments")

# First key of the two-key advisory lock, so these locks never meet another feature's.
_LOCK_NAMESPACE = 0x41_54_54_43  # "ATTC"


def attachment_etag(attachment_id: int) -> str:
    """Attachments never change, only go: the version is always 1."""
    return etag("attachment", attachment_id, 1)


def download_url(row: Attachment) -> str:
    return f"/api/v1/reports/{row.report_id}/attachments/{row.id}/download"


def read(row: Attachment, actions: list[str]) -> AttachmentRead:
    return AttachmentRead(
        id=row.id or 0,
        item_kind=row.item_kind,
        item_id=row.item_id,
        filename=row.filename,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        created_at=row.created_at,
        download_url=download_url(row),
        allowed_actions=actions,
    )


def _actions(item: Any, report: Report, period: ReportingPeriod, caller: User) -> list[str]:
    return ["delete"] if "update" in item_actions(item, report, period, caller) else []


async def _lock_blob(session: AsyncSession, sha256: str) -> None:
    key = int.from_bytes(bytes.fromhex(sha256[:8]), "big", signed=True)
    await session.execute(select(func.pg_advisory_xact_lock(_LOCK_NAMESPACE, key)))


async def upload(
    session: AsyncSession,
    settings: Settings,
    kind: Kind,
    plan: Plan,
    caller: User,
    report_id: int,
    item_id: int,
    *,
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    content_length: str | None,
) -> tuple[AttachmentRead, bool]:
    """Store an evidence file on an item; the caller is checked before a byte is read.
    Returns the attachment and whether it is new.

    The check's read-only transaction is committed before the body streams in, so a slow
    upload from a phone does not hold a database connection; the check is then repeated
    with the report and item locked, since the report may have been submitted meanwhile.
    The same file (same content and name) sent again to the same item, a retry after a
    lost answer, returns the attachment already stored instead of a copy: the lock on the
    content's hash makes concurrent retries wait for the first one.
    """
    item, report, period = await load_item(session, kind, plan, caller, report_id, item_id)
    _require_item("update", item, report, period, caller)
    await session.commit()
    root = storage_root(settings)
    received = await receive_upload(
        chunks,
        content_type,
        content_length,
        limit=settings.attachment_max_bytes,
        root=root,
    )
    try:
        item, report, period = await load_item(
            session, kind, plan, caller, report_id, item_id, lock=True
        )
        _require_item("update", item, report, period, caller)
        await _lock_blob(session, received.sha256)
        await place(root, received)
    except BaseException:
        await discard(received)
        raise
    existing = (
        await session.execute(
            select(Attachment).where(
                col(Attachment.item_kind) == kind.path,
                col(Attachment.item_id) == item.id,
                col(Attachment.sha256) == received.sha256,
                col(Attachment.filename) == received.filename,
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        return read(existing, _actions(item, report, period, caller)), False
    row = Attachment(
        report_id=report.id or 0,
        item_kind=kind.path,
        item_id=item.id,
        sha256=received.sha256,
        filename=received.filename,
        content_type=received.content_type,
        size_bytes=received.size,
        created_by_id=caller.id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)  # created_at is set by the database
    await touch(session, report)  # the report shows its evidence: a new version
    await audit.record(
        session, caller, "attachment.create", "attachment", row.id, after=audit.snapshot(row)
    )
    return read(row, _actions(item, report, period, caller)), True


async def list_for_item(
    session: AsyncSession, kind: Kind, plan: Plan, caller: User, report_id: int, item_id: int
) -> list[AttachmentRead]:
    item, report, period = await load_item(session, kind, plan, caller, report_id, item_id)
    actions = _actions(item, report, period, caller)
    rows = (
        await session.execute(
            select(Attachment)
            .where(
                col(Attachment.report_id) == report.id,
                col(Attachment.item_kind) == kind.path,
                col(Attachment.item_id) == item.id,
            )
            .order_by(col(Attachment.id))
        )
    ).scalars()
    return [read(row, list(actions)) for row in rows]


async def _get(session: AsyncSession, report: Report, attachment_id: int) -> Attachment:
    row = (
        await session.execute(
            select(Attachment).where(
                col(Attachment.id) == attachment_id, col(Attachment.report_id) == report.id
            )
        )
    ).scalar()
    if row is None:
        raise NotFoundError("attachment", attachment_id)
    return row


async def locate(
    session: AsyncSession,
    settings: Settings,
    plan: Plan,
    caller: User,
    report_id: int,
    attachment_id: int,
) -> tuple[Attachment, Path]:
    """The row and its blob's path, for whoever may see the report (404 otherwise)."""
    report, _, _ = await load_report(session, plan, caller, report_id)
    row = await _get(session, report, attachment_id)
    root = storage_root(settings)
    if not await blob_exists(root, row.sha256):
        logger.error("attachment %s: blob %s is missing", row.id, row.sha256)
        raise NotFoundError("attachment", attachment_id)
    return row, blob_path(root, row.sha256)


async def delete(
    session: AsyncSession,
    settings: Settings,
    plan: Plan,
    caller: User,
    report_id: int,
    attachment_id: int,
    if_match: str | None,
) -> None:
    """Remove the row; the blob goes too unless another row has the same content."""
    report, _, _ = await load_report(session, plan, caller, report_id)
    row = await _get(session, report, attachment_id)
    kind = KINDS[row.item_kind]
    item, report, period = await load_item(
        session, kind, plan, caller, report_id, row.item_id, lock=True
    )
    _require_item("update", item, report, period, caller)
    check_if_match(if_match, attachment_etag(row.id or 0))
    await _lock_blob(session, row.sha256)
    before = audit.snapshot(row)
    await session.delete(row)
    await session.flush()
    await touch(session, report)  # the report shows its evidence: a new version
    others = (
        await session.execute(select(func.count()).where(col(Attachment.sha256) == row.sha256))
    ).scalar_one()
    await audit.record(session, caller, "attachment.delete", "attachment", row.id, before=before)
    if others == 0:
        # Last step before the commit, under the lock: a concurrent upload of the same
        # content waits, then finds no blob and stores it again.
        await remove_blob(storage_root(settings), row.sha256)

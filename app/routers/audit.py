"""The audit trail: who changed what, when, from which request."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.core.fields import fields_of
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.core.permissions import Permission
from app.deps import SessionDep, require
from app.models import User
from app.schemas.audit import AuditPage
from app.schemas.users import USERNAME_PATTERN
from app.services import audit as service

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get(
    "",
    operation_id="audit-list",
    dependencies=[fields_of(AuditPage)],
    summary="Read the audit trail",
    responses=problems(401, 403, 422),
)
async def list_audit(
    session: SessionDep,
    caller: Annotated[User, require(Permission.audit_read)],
    entity: Annotated[
        str | None,
        Query(max_length=40, pattern=r"^[a-z_]+$", examples=["report"]),
    ] = None,
    entity_id: Annotated[str | None, Query(min_length=1, max_length=64, examples=["42"])] = None,
    actor: Annotated[
        str | None,
        Query(pattern=USERNAME_PATTERN, description="Username of who made the change."),
    ] = None,
    action: Annotated[
        str | None,
        Query(max_length=40, pattern=r"^[a-z_]+(\.[a-z_]+)*$", examples=["report.return"]),
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> AuditPage:
    """Reviewers and administrators only. One row per write (reports, their items and
    comments, periods, users), newest first, with the object's columns before and after
    (secrets such as password hashes are never recorded). The trail is append-only: the
    database refuses to change or delete it.

    The trail shows no more than the objects' own routes: an entry about a report, its
    items, comments, attachments or transitions is **omitted** (not redacted, and not
    counted in `total`) unless the caller may see that report now through
    `GET /reports/{id}`. Reviewers and administrators therefore see no entry about a
    draft, including the earlier entries of a report withdrawn back to draft; they appear
    again once it is submitted."""
    return await service.list_entries(
        session,
        caller,
        entity=entity,
        entity_id=entity_id,
        actor=actor,
        action=action,
        after=decode_cursor("audit", cursor, bound=2**62),  # bigint ids
        limit=limit,
    )

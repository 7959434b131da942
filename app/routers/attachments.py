"""Evidence files on report items (JPEG, PNG, WebP, PDF), under the reports tag."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import FileResponse

from app.core.fields import fields_of
from app.core.openapi import problems
from app.deps import CurrentPlan, CurrentUser, PlanQuery, SessionDep, SettingsDep
from app.routers.reports import IfMatch, ItemId, ReportId
from app.schemas.attachments import DOWNLOAD_RESPONSE, UPLOAD_BODY, AttachmentRead
from app.services import attachments as service
from app.services import report_items as items

router = APIRouter(prefix="/reports", tags=["reports"])

AttachmentId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _item_routes(kind: items.Kind) -> None:
    path = f"/{{report_id}}/{kind.path}/{{item_id}}/attachments"
    name = kind.path

    async def upload(
        request: Request,
        response: Response,
        session: SessionDep,
        settings: SettingsDep,
        plan: CurrentPlan,
        query: PlanQuery,
        caller: CurrentUser,
        report_id: ReportId,
        item_id: ItemId,
    ) -> AttachmentRead:
        """A multipart/form-data body with the file in the `file` field. Its type is judged
        from its first bytes (JPEG, PNG, WebP or PDF), never from the declared type or the
        name: anything else is 422. Larger than the limit (10 MB unless configured) is 413.
        Allowed while the item may be updated (`update` in its `allowed_actions`). Sending
        the same file (same content and name) to the same item again answers 200 with the
        attachment already stored, not a copy, so a retry after a lost answer is safe."""
        read, created = await service.upload(
            session,
            settings,
            kind,
            plan,
            caller,
            report_id,
            item_id,
            chunks=request.stream(),
            content_type=request.headers.get("content-type"),
            content_length=request.headers.get("content-length"),
        )
        if not created:
            response.status_code = status.HTTP_200_OK
        response.headers["ETag"] = service.attachment_etag(read.id)
        read.download_url += query
        response.headers["Location"] = read.download_url
        return read

    async def list_(
        session: SessionDep,
        plan: CurrentPlan,
        query: PlanQuery,
        caller: CurrentUser,
        report_id: ReportId,
        item_id: ItemId,
    ) -> list[AttachmentRead]:
        """For whoever may see the report."""
        found = await service.list_for_item(session, kind, plan, caller, report_id, item_id)
        for read in found:
            read.download_url += query
        return found

    router.add_api_route(
        path,
        upload,
        methods=["POST"],
        operation_id=f"reports-{name}-attachments-create",
        summary=f"Attach an evidence file to one of {name}",
        status_code=status.HTTP_201_CREATED,
        openapi_extra=UPLOAD_BODY,
        responses={
            200: {
                "model": AttachmentRead,
                "description": "The same file was already attached: the stored attachment.",
            },
            **problems(400, 401, 403, 404, 409, 413, 422),
        },
    )
    router.add_api_route(
        path,
        list_,
        methods=["GET"],
        operation_id=f"reports-{name}-attachments-list",
        summary=f"List the evidence files of one of {name}",
        dependencies=[fields_of(AttachmentRead, each=True)],
        responses=problems(401, 404, 422),
    )


for _kind in items.KINDS.values():
    _item_routes(_kind)


@router.get(
    "/{report_id}/attachments/{attachment_id}/download",
    operation_id="reports-attachments-download",
    summary="Download an evidence file",
    response_class=Response,
    responses={**DOWNLOAD_RESPONSE, **problems(401, 404, 422)},
)
async def download(
    session: SessionDep,
    settings: SettingsDep,
    plan: CurrentPlan,
    caller: CurrentUser,
    report_id: ReportId,
    attachment_id: AttachmentId,
) -> Response:
    """The stored bytes under their detected type, as an attachment, never cached. For
    whoever may see the report: a draft's files only to its agency's staff."""
    row, blob = await service.locate(session, settings, plan, caller, report_id, attachment_id)
    return FileResponse(
        blob,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename, safe='')}",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "ETag": service.attachment_etag(row.id or 0),
        },
    )


@router.delete(
    "/{report_id}/attachments/{attachment_id}",
    operation_id="reports-attachments-delete",
    summary="Remove an evidence file",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 409, 412, 422, 428),
)
async def delete(
    session: SessionDep,
    settings: SettingsDep,
    plan: CurrentPlan,
    caller: CurrentUser,
    report_id: ReportId,
    attachment_id: AttachmentId,
    if_match: IfMatch = None,
) -> None:
    """Allowed while its item may be updated; needs `If-Match` with the file's ETag
    (`"attachment-<id>-v1"`). The stored bytes stay while another file has the same
    content."""
    await service.delete(session, settings, plan, caller, report_id, attachment_id, if_match)

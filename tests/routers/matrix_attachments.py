"""Access matrix entries for evidence files on report items.

Each case gets a fresh Sở Y tế draft with one item (and, to download or delete, one file
uploaded by its officer): its own staff may act; everyone else is refused as 404, since a
draft is not theirs to see; the public gets 401.
"""

from typing import Any

from tests.evidence import png
from tests.factories import Account
from tests.routers.test_access_matrix import (
    API,
    Context,
    Endpoint,
    Prepare,
    _ok,
    agency_only,
    in_state,
)

KINDS = ("task-updates", "indicator-values", "document-updates")


def with_file(kind: str) -> Prepare:
    """A draft with one item of `kind`, and a PNG ready to upload to it."""
    draft = in_state("draft", kind)

    async def prepare(ctx: Context, caller: Account) -> dict[str, Any]:
        prepared = await draft(ctx, caller)
        return {**prepared, "files": {"file": ("evidence.png", png(), "image/png")}}

    return prepare


def attached(kind: str) -> Prepare:
    """A draft with one item of `kind` carrying one file; `item` is the file's id."""
    draft = in_state("draft", kind)

    async def prepare(ctx: Context, caller: Account) -> dict[str, Any]:
        prepared = await draft(ctx, caller)
        file = await _ok(
            await ctx.client.post(
                f"{API}/reports/{prepared['id']}/{kind}/{prepared['item']}/attachments",
                headers=ctx.accounts["officer"].headers,
                files={"file": ("evidence.png", png(), "image/png")},
            )
        )
        return {
            "id": prepared["id"],
            "item": file["id"],
            "headers": {"If-Match": f'"attachment-{file["id"]}-v1"'},
        }

    return prepare


def _item_entries(kind: str) -> list[Endpoint]:
    path = "/api/v1/reports/{report_id}/" + kind + "/{item_id}/attachments"
    url = "/api/v1/reports/{id}/" + kind + "/{item}/attachments"
    return [
        Endpoint("POST", path, agency_only(201), url=url, prepare=with_file(kind)),
        Endpoint("GET", path, agency_only(200), url=url, prepare=in_state("draft", kind)),
    ]


ENDPOINTS: list[Endpoint] = [
    *[entry for kind in KINDS for entry in _item_entries(kind)],
    Endpoint(
        "GET",
        "/api/v1/reports/{report_id}/attachments/{attachment_id}/download",
        agency_only(200),
        url="/api/v1/reports/{id}/attachments/{item}/download",
        prepare=attached("indicator-values"),
    ),
    Endpoint(
        "DELETE",
        "/api/v1/reports/{report_id}/attachments/{attachment_id}",
        agency_only(204),
        url="/api/v1/reports/{id}/attachments/{item}",
        prepare=attached("document-updates"),
    ),
]

"""Evidence files on report items, through HTTP: upload, list, download, delete; types
judged by content, the size limit, storage by SHA-256, and who may see or change what."""

import hashlib
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.evidence import pdf, png
from tests.factories import Account, signed_in
from tests.routers.test_access_matrix import ITEM_BODIES

API = "/api/v1"


@pytest.fixture
async def team(client: httpx.AsyncClient, sessionmaker: Any) -> dict[str, Account]:
    """Fresh staff of Sở Y tế, a reviewer, and an officer of another agency."""
    return {
        "officer": await signed_in(client, sessionmaker, role="officer", agency="SYT"),
        "lead": await signed_in(client, sessionmaker, role="agency_lead", agency="SYT"),
        "reviewer": await signed_in(client, sessionmaker, role="reviewer", agency="STTTT"),
        "other": await signed_in(client, sessionmaker, role="officer", agency="SGDDT"),
    }


@pytest.fixture
def storage(app: Any) -> Path:
    root: Path = app.state.settings.storage_dir
    assert root is not None and ".data" in root.parts
    return root


def stored_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def draft(client: httpx.AsyncClient, team: dict[str, Account], *kinds: str) -> str:
    """A fresh Sở Y tế draft with one item of each kind; returns the report's URL."""
    period = await client.post(
        f"{API}/periods",
        headers=team["reviewer"].headers,
        json={
            "title": f"Kỳ minh chứng {secrets.token_hex(3)}",
            "due_date": "2026-12-01",
            "cutoff_date": "2026-11-15",
            "agencies": ["SYT"],
        },
    )
    assert period.status_code == 201, period.text
    report = await client.post(
        f"{API}/reports", headers=team["officer"].headers, json={"period_id": period.json()["id"]}
    )
    assert report.status_code == 201, report.text
    url = f"{API}/reports/{report.json()['id']}"
    for kind in kinds:
        item = await client.post(
            f"{url}/{kind}", headers=team["officer"].headers, json=ITEM_BODIES[kind]
        )
        assert item.status_code == 201, item.text
    return url


async def item_url(client: httpx.AsyncClient, url: str, kind: str, who: Account) -> str:
    items = (await client.get(f"{url}/{kind}", headers=who.headers)).json()["items"]
    return f"{url}/{kind}/{items[0]['id']}"


async def upload(
    client: httpx.AsyncClient,
    url: str,
    who: Account,
    content: bytes,
    name: str = "evidence.png",
    declared: str = "image/png",
) -> httpx.Response:
    return await client.post(
        f"{url}/attachments", headers=who.headers, files={"file": (name, content, declared)}
    )


async def submit(client: httpx.AsyncClient, url: str, lead: Account) -> None:
    etag = (await client.get(url, headers=lead.headers)).headers["etag"]
    response = await client.post(f"{url}/submit", headers={**lead.headers, "If-Match": etag})
    assert response.status_code == 200, response.text


async def test_upload_list_download(
    client: httpx.AsyncClient, team: dict[str, Account], storage: Path
) -> None:
    officer, lead = team["officer"], team["lead"]
    url = await draft(client, team, "task-updates")
    item = await item_url(client, url, "task-updates", officer)
    image, document = png(), pdf()

    first = await upload(client, item, officer, image, name="C:\\Ảnh hiện trường\\trạm y tế.png")
    assert first.status_code == 201, first.text
    body = first.json()
    assert first.headers["etag"] == f'"attachment-{body["id"]}-v1"'
    sha = hashlib.sha256(image).hexdigest()
    assert {k: v for k, v in body.items() if k not in ("id", "created_at")} == {
        "item_kind": "task-updates",
        "item_id": int(item.rsplit("/", 1)[1]),
        "filename": "trạm y tế.png",
        "content_type": "image/png",
        "size_bytes": len(image),
        "sha256": sha,
        "download_url": f"{url}/attachments/{body['id']}/download",
        "allowed_actions": ["delete"],
    }
    assert (storage / sha[:2] / sha).read_bytes() == image
    # Declared as a generic binary under a misleading name: the bytes say PDF.
    second = await upload(client, item, officer, document, "../../bien-ban.exe", "text/plain")
    assert second.status_code == 201, second.text
    assert (second.json()["content_type"], second.json()["filename"]) == (
        "application/pdf",
        "bien-ban.exe",
    )

    listed = await client.get(f"{item}/attachments", headers=lead.headers)
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()] == [body["id"], second.json()["id"]]

    download = await client.get(body["download_url"], headers=lead.headers)
    assert download.status_code == 200
    assert download.content == image
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''" + quote("trạm y tế.png", safe="")
    )
    assert download.headers["cache-control"] == "private, no-store"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-length"] == str(len(image))
    as_pdf = await client.get(second.json()["download_url"], headers=officer.headers)
    assert (as_pdf.content, as_pdf.headers["content-type"]) == (document, "application/pdf")

    params = {"entity": "attachment", "entity_id": str(body["id"])}
    reviewer = team["reviewer"].headers
    # The audit trail shows a draft's entries to nobody the report itself hides from.
    hidden = await client.get(f"{API}/audit", params=params, headers=reviewer)
    assert (hidden.status_code, hidden.json()["items"]) == (200, [])
    await submit(client, url, team["lead"])
    audit = await client.get(f"{API}/audit", params=params, headers=reviewer)
    entry = audit.json()["items"][0]
    assert (entry["action"], entry["actor"]) == ("attachment.create", officer.username)
    assert entry["after"]["sha256"] == sha


async def test_same_content_is_stored_once(
    client: httpx.AsyncClient, team: dict[str, Account], storage: Path
) -> None:
    officer = team["officer"]
    url = await draft(client, team, "task-updates", "indicator-values")
    task = await item_url(client, url, "task-updates", officer)
    value = await item_url(client, url, "indicator-values", officer)
    image = png()
    sha = hashlib.sha256(image).hexdigest()

    one = await upload(client, task, officer, image, "a.png")
    two = await upload(client, value, officer, image, "b.png")
    assert (one.status_code, two.status_code) == (201, 201)
    assert one.json()["sha256"] == two.json()["sha256"] == sha
    assert one.json()["id"] != two.json()["id"]
    assert [p for p in stored_files(storage) if p.name == sha] == [storage / sha[:2] / sha]
    assert not stored_files(storage / "tmp")

    # The same file again on the same item (a retry after a lost answer): the stored one.
    retried = await upload(client, task, officer, image, "a.png")
    assert retried.status_code == 200, retried.text
    assert retried.json() == one.json()
    listed = (await client.get(f"{task}/attachments", headers=officer.headers)).json()
    assert [a["id"] for a in listed] == [one.json()["id"]]
    renamed = await upload(client, task, officer, image, "a-copy.png")
    assert renamed.status_code == 201
    gone = await client.delete(
        f"{url}/attachments/{renamed.json()['id']}",
        headers={**officer.headers, "If-Match": renamed.headers["etag"]},
    )
    assert gone.status_code == 204

    # The blob stays while another file has the same content, and goes with the last.
    for response, left in ((one, True), (two, False)):
        gone = await client.delete(
            f"{url}/attachments/{response.json()['id']}",
            headers={**officer.headers, "If-Match": response.headers["etag"]},
        )
        assert gone.status_code == 204, gone.text
        assert (storage / sha[:2] / sha).exists() is left
    again = await client.get(two.json()["download_url"], headers=officer.headers)
    assert again.status_code == 404


async def test_type_comes_from_the_content(
    client: httpx.AsyncClient, team: dict[str, Account], storage: Path
) -> None:
    officer = team["officer"]
    url = await draft(client, team, "document-updates")
    item = await item_url(client, url, "document-updates", officer)
    before = stored_files(storage)

    for content, name, declared in (
        (b"just some text, not an image\n", "x.png", "image/png"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.webp", "image/webp"),
        (b"GIF89a" + png()[6:], "x.jpg", "image/jpeg"),
        (b"", "empty.pdf", "application/pdf"),
    ):
        spoofed = await upload(client, item, officer, content, name, declared)
        assert spoofed.status_code == 422, spoofed.text
        assert spoofed.headers["content-type"] == "application/problem+json"
        assert spoofed.json()["errors"][0]["type"] == "unsupported_file_type"

    wrong_field = await client.post(
        f"{item}/attachments", headers=officer.headers, files={"photo": ("a.png", png())}
    )
    assert (wrong_field.status_code, wrong_field.json()["errors"][0]["type"]) == (422, "missing")
    as_json = await client.post(f"{item}/attachments", headers=officer.headers, json={"file": "x"})
    assert as_json.status_code == 422
    assert as_json.json()["errors"][0]["type"] == "multipart_required"

    assert (await client.get(f"{item}/attachments", headers=officer.headers)).json() == []
    assert stored_files(storage) == before


@pytest.fixture
def small_limit(app: Any) -> Iterator[int]:
    """The app's upload limit lowered to 1 KB for one test."""
    original = app.state.settings
    app.state.settings = original.model_copy(update={"attachment_max_bytes": 1024})
    try:
        yield 1024
    finally:
        app.state.settings = original


async def test_size_limit(
    client: httpx.AsyncClient, team: dict[str, Account], storage: Path, small_limit: int
) -> None:
    officer = team["officer"]
    url = await draft(client, team, "task-updates")
    item = await item_url(client, url, "task-updates", officer)
    before = stored_files(storage)
    header = png()[:16]

    too_large = await upload(client, item, officer, header + b"\0" * (small_limit - 15))
    assert too_large.status_code == 413, too_large.text
    problem = too_large.json()
    assert (problem["code"], problem["status"]) == ("payload_too_large", 413)
    assert "1 KB" in problem["detail"]
    assert stored_files(storage) == before

    # Streamed without a length: reading stops at the limit, not at the end of the body.
    boundary = "evidence-boundary"
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"'
            "\r\nContent-Type: image/png\r\n\r\n"
        ).encode() + header
        for _ in range(1000):
            sent += 1
            yield b"\0" * 512
        yield f"\r\n--{boundary}--\r\n".encode()

    streamed = await client.post(
        f"{item}/attachments",
        headers={**officer.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body(),
    )
    assert streamed.status_code == 413
    assert sent < 10
    assert stored_files(storage) == before

    exactly = await upload(client, item, officer, header + b"\0" * (small_limit - 16))
    assert exactly.status_code == 201, exactly.text
    assert exactly.json()["size_bytes"] == small_limit


async def test_who_may_see_and_change(client: httpx.AsyncClient, team: dict[str, Account]) -> None:
    officer, lead, reviewer, other = team["officer"], team["lead"], team["reviewer"], team["other"]
    url = await draft(client, team, "indicator-values")
    item = await item_url(client, url, "indicator-values", officer)
    created = await upload(client, item, officer, png())
    assert created.status_code == 201, created.text
    download = created.json()["download_url"]
    delete_url = f"{url}/attachments/{created.json()['id']}"
    if_match = {"If-Match": created.headers["etag"]}

    # Another agency's officer, and a reviewer before submission: not theirs to see.
    for who in (other, reviewer):
        assert (await upload(client, item, who, png())).status_code == 404
        assert (await client.get(f"{item}/attachments", headers=who.headers)).status_code == 404
        assert (await client.get(download, headers=who.headers)).status_code == 404
        refused = await client.delete(delete_url, headers={**who.headers, **if_match})
        assert refused.status_code == 404
    # The public: never.
    for response in (
        await client.post(f"{item}/attachments", files={"file": ("a.png", png())}),
        await client.get(f"{item}/attachments"),
        await client.get(download),
        await client.delete(delete_url, headers=if_match),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")

    await submit(client, url, lead)
    seen = await client.get(download, headers=reviewer.headers)
    assert (seen.status_code, seen.content[:8]) == (200, b"\x89PNG\r\n\x1a\n")
    listed = await client.get(f"{item}/attachments", headers=reviewer.headers)
    assert [a["allowed_actions"] for a in listed.json()] == [[]]
    # Submitted: the item is frozen, so its files are too.
    assert (await upload(client, item, officer, png())).status_code == 409
    assert (await upload(client, item, reviewer, png())).status_code == 403
    frozen = await client.delete(delete_url, headers={**officer.headers, **if_match})
    assert frozen.status_code == 409
    assert (await client.get(download, headers=officer.headers)).status_code == 200


async def test_delete_needs_the_current_etag(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer = team["officer"]
    url = await draft(client, team, "task-updates")
    item = await item_url(client, url, "task-updates", officer)
    created = (await upload(client, item, officer, png())).json()
    target = f"{url}/attachments/{created['id']}"

    assert (await client.delete(target, headers=officer.headers)).status_code == 428
    stale = await client.delete(
        target, headers={**officer.headers, "If-Match": f'"attachment-{created["id"]}-v2"'}
    )
    assert stale.status_code == 412
    assert (await client.get(created["download_url"], headers=officer.headers)).status_code == 200
    done = await client.delete(
        target, headers={**officer.headers, "If-Match": f'"attachment-{created["id"]}-v1"'}
    )
    assert done.status_code == 204
    assert (await client.get(f"{item}/attachments", headers=officer.headers)).json() == []


async def test_files_go_with_their_item(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer = team["officer"]
    url = await draft(client, team, "document-updates")
    item = await item_url(client, url, "document-updates", officer)
    created = (await upload(client, item, officer, pdf())).json()
    assert created["item_id"] == int(item.rsplit("/", 1)[1])
    listed = (await client.get(f"{url}/document-updates", headers=officer.headers)).json()
    removed = await client.delete(
        item,
        headers={**officer.headers, "If-Match": listed["items"][0]["etag"]},
    )
    assert removed.status_code == 204, removed.text
    gone = await client.get(created["download_url"], headers=officer.headers)
    assert gone.status_code == 404

"""Request bodies are bounded before anything reads them, and the NUL rule checks what the
app will see (decoded path, query, JSON strings and form fields), never `%00` in JSON text.

Bodies are fed through counting iterables: the ASGI transport pulls a chunk only when the
app asks for more of the body, so `feed.pulled` is what the server read."""

import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest

from app.core.body_limit import BodyLimitMiddleware
from app.core.config import Settings
from app.core.storage import ENVELOPE_BYTES
from tests.evidence import png
from tests.factories import Account, signed_in
from tests.services.test_attachments import draft

API = "/api/v1"
PROBLEM = "application/problem+json"
MiB = 1024 * 1024
CHUNK = 64 * 1024


class Feed:
    """`total` bytes in `chunk`-sized pieces, counting the pieces the server pulled."""

    def __init__(self, total: int, chunk: int = CHUNK, fill: bytes = b"a", head: bytes = b""):
        self.total, self.chunk, self.fill, self.head = total, chunk, fill, head
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.head:
            yield self.head
        piece = self.fill * self.chunk
        for start in range(0, self.total, self.chunk):
            self.pulled += 1
            yield piece[: min(self.chunk, self.total - start)]


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert (body["code"], body["status"]) == (code, status)
    return body


def assert_nul(response: httpx.Response, where: str) -> None:
    body = assert_problem(response, 422, "validation_error")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [([where], "nul_character")]


@pytest.fixture
async def team(client: httpx.AsyncClient, sessionmaker: Any) -> dict[str, Account]:
    return {
        "officer": await signed_in(client, sessionmaker, role="officer", agency="SYT"),
        "reviewer": await signed_in(client, sessionmaker, role="reviewer", agency="STTTT"),
    }


async def listed(client: httpx.AsyncClient, url: str, account: Account) -> list[Any]:
    """The rows a list route answers, whether it gives a plain list or a page of them."""
    answer = (await client.get(url, headers=account.headers)).json()
    rows: list[Any] = answer["items"] if isinstance(answer, dict) else answer
    return rows


async def first_upload_target(client: httpx.AsyncClient, officer: Account, url: str) -> str:
    """The attachments URL of the draft's first task update."""
    items = await listed(client, f"{url}/task-updates", officer)
    return f"{url}/task-updates/{items[0]['id']}/attachments"


def padded_comment(text: str, size: int) -> bytes:
    """A comment body of exactly `size` bytes: JSON padded with trailing whitespace."""
    body = orjson.dumps({"body": text})
    assert len(body) <= size
    return body + b" " * (size - len(body))


JSON = {"Content-Type": "application/json"}
CHUNKED = b"Transfer-Encoding: chunked\r\n\r\n"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# Body limits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type", "who"),
    [
        ("/auth/token", FORM, None),  # anonymous, the endpoint that froze workers
        ("/auth/refresh", JSON, None),  # public JSON
        ("/tasks", JSON, None),  # a public GET with a body nobody asked for
        ("/periods", JSON, "reviewer"),  # a staff JSON write
    ],
)
async def test_declared_length_over_the_limit_is_413_without_reading(
    client: httpx.AsyncClient,
    team: dict[str, Account],
    path: str,
    content_type: dict[str, str],
    who: str | None,
) -> None:
    feed = Feed(16 * MiB)
    headers = {**content_type, "Content-Length": str(feed.total), "X-Request-ID": "big-body-1"}
    if who:
        headers.update(team[who].headers)
    method = "GET" if path == "/tasks" else "POST"
    response = await client.request(method, API + path, headers=headers, content=feed)
    problem = assert_problem(response, 413, "payload_too_large")
    assert feed.pulled == 0  # neither the NUL check nor the handler read a byte
    assert problem["request_id"] == "big-body-1"
    assert response.headers["x-request-id"] == "big-body-1"
    assert problem["detail"] == "Nội dung yêu cầu vượt quá giới hạn 1 MB."
    en = await client.request(
        method, API + path, headers={**headers, "Accept-Language": "en"}, content=Feed(2 * MiB)
    )
    assert en.json()["detail"] == "The request body exceeds the limit of 1 MB."
    assert en.json()["title"] == "Payload too large"


@pytest.mark.parametrize(
    ("path", "content_type", "who"),
    [("/auth/token", FORM, None), ("/auth/refresh", JSON, None), ("/periods", JSON, "reviewer")],
)
async def test_streamed_body_stops_being_read_past_the_limit(
    client: httpx.AsyncClient,
    team: dict[str, Account],
    path: str,
    content_type: dict[str, str],
    who: str | None,
) -> None:
    feed = Feed(16 * MiB)  # chunked: no Content-Length
    headers = {**content_type, **(team[who].headers if who else {})}
    response = await client.post(API + path, headers=headers, content=feed)
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")
    assert feed.pulled == MiB // CHUNK + 1  # the chunk that passed the limit, no further


async def test_a_body_at_the_limit_is_accepted(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer = team["officer"]
    url = await draft(client, team)
    headers = {**officer.headers, **JSON}
    exact = await client.post(
        f"{url}/comments", headers=headers, content=padded_comment("vừa đủ", MiB)
    )
    assert exact.status_code == 201, exact.text
    streamed = padded_comment("vừa đủ, gửi từng phần", MiB)

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(streamed), CHUNK):
            yield streamed[start : start + CHUNK]

    chunked = await client.post(f"{url}/comments", headers=headers, content=pieces())
    assert chunked.status_code == 201, chunked.text
    over = await client.post(
        f"{url}/comments", headers=headers, content=padded_comment("quá", MiB + 1)
    )
    assert_problem(over, 413, "payload_too_large")
    comments = await listed(client, f"{url}/comments", officer)
    assert [c["comment"] for c in comments] == ["vừa đủ", "vừa đủ, gửi từng phần"]


@pytest.fixture
def limits(app: Any) -> Iterator[Settings]:
    """The app's limits lowered for one test: 4 KiB bodies, 8 KiB uploads."""
    original = app.state.settings
    app.state.settings = original.model_copy(
        update={"max_body_bytes": 4096, "attachment_max_bytes": 8192}
    )
    try:
        yield app.state.settings
    finally:
        app.state.settings = original


async def test_limits_are_settings(
    client: httpx.AsyncClient, team: dict[str, Account], limits: Settings
) -> None:
    url = await draft(client, team)
    headers = {**team["officer"].headers, **JSON}
    fits = await client.post(f"{url}/comments", headers=headers, content=padded_comment("x", 4096))
    assert fits.status_code == 201, fits.text
    over = await client.post(f"{url}/comments", headers=headers, content=padded_comment("x", 4097))
    assert assert_problem(over, 413, "payload_too_large")["detail"] == (
        "Nội dung yêu cầu vượt quá giới hạn 4 KB."
    )


async def test_upload_limit_is_the_attachment_limit(
    client: httpx.AsyncClient, team: dict[str, Account], limits: Settings
) -> None:
    officer = team["officer"]
    url = await draft(client, team, "task-updates")
    target = await first_upload_target(client, officer, url)
    image = png()
    limit = limits.attachment_max_bytes
    assert limit > limits.max_body_bytes  # uploads are not held to the JSON limit

    fits = image + b"\0" * (limit - len(image))
    ok = await client.post(target, headers=officer.headers, files={"file": ("a.png", fits)})
    assert ok.status_code == 201, ok.text
    assert ok.json()["size_bytes"] == limit

    # One byte over: the upload code's own check, with its exact limit.
    over = await client.post(
        target, headers=officer.headers, files={"file": ("b.png", fits + b"\0")}
    )
    assert assert_problem(over, 413, "payload_too_large")["detail"] == (
        "Nội dung yêu cầu vượt quá giới hạn 8 KB."
    )

    # Far over, declared: refused before the caller is even authenticated.
    multipart = {"Content-Type": "multipart/form-data; boundary=x"}
    for who in ({}, officer.headers):
        feed = Feed(16 * MiB)
        declared = {**who, **multipart, "Content-Length": str(feed.total)}
        response = await client.post(target, headers=declared, content=feed)
        assert_problem(response, 413, "payload_too_large")
        assert feed.pulled == 0

    # Streamed (a huge field beside the file): reading stops past the limit and its envelope.
    head = b'--x\r\nContent-Disposition: form-data; name="note"\r\n\r\n'
    feed = Feed(16 * MiB, chunk=4096, head=head)
    response = await client.post(target, headers={**officer.headers, **multipart}, content=feed)
    problem = assert_problem(response, 413, "payload_too_large")
    assert problem["detail"] == "Nội dung yêu cầu vượt quá giới hạn 8 KB."
    assert feed.pulled == (limit + ENVELOPE_BYTES - len(head)) // 4096 + 1
    stored = await listed(client, target, officer)
    assert [a["filename"] for a in stored] == ["a.png"]


async def test_no_second_answer_once_a_response_has_started() -> None:
    """An app that starts answering and then reads past the limit: the 413 is not sent on
    top of its answer, and reading still stops at the limit."""
    sent: list[dict[str, Any]] = []
    pulled = 0

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body"):
            pass

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"a" * 1000, "more_body": pulled < 100}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    settings = Settings(max_body_bytes=2500)
    scope = {"type": "http", "method": "POST", "path": "/x", "headers": [], "query_string": b""}
    await BodyLimitMiddleware(app, settings=settings)(scope, receive, send)
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert sent[0]["status"] == 200
    assert pulled == 3


async def test_a_real_server_answers_before_the_body_is_sent(app: Any) -> None:
    """Through uvicorn: the 413 comes while the client has sent only the headers (declared
    length) or just past the limit (chunked), and a client that sends all of a 50 MB body
    still gets it, on a connection that then serves the next request."""
    import asyncio

    import uvicorn

    from app.main import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(app.state.settings),
            host="127.0.0.1",
            port=0,
            lifespan="off",  # neither the 413 nor /healthz needs the database
            log_config=None,
            access_log=False,
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(400):
            if server.started:
                break
            await asyncio.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        head = (
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: test\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
        )
        piece = b"a" * CHUNK
        chunks = (b"10000\r\n" + piece + b"\r\n") * (MiB // CHUNK + 1)  # 64 KiB past 1 MiB
        for sent in (head + b"Content-Length: 52428800\r\n\r\n", head + CHUNKED + chunks):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(sent)
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), timeout=30)
            writer.close()
            assert status.startswith(b"HTTP/1.1 413 "), status

        async def body() -> AsyncIterator[bytes]:
            for _ in range(50 * MiB // CHUNK):
                yield piece

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as live:
            for extra in ({"Content-Length": str(50 * MiB)}, {}):
                response = await live.post(
                    f"{API}/auth/token", headers={**FORM, **extra}, content=body()
                )
                assert_problem(response, 413, "payload_too_large")
            assert (await live.get("/healthz")).status_code == 200
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=30)


# The NUL rule ----------------------------------------------------------------------------


async def test_percent_00_in_json_text_is_ordinary_text(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer = team["officer"]
    url = await draft(client, team)
    for text in ("100%00", "tiến độ 100%00 %00%", "a\\u0000 không phải NUL"):
        response = await client.post(
            f"{url}/comments", headers=officer.headers, json={"body": text}
        )
        assert response.status_code == 201, response.text
        assert response.json()["comment"] == text
    comments = await listed(client, f"{url}/comments", officer)
    assert [c["comment"] for c in comments] == [
        "100%00",
        "tiến độ 100%00 %00%",
        "a\\u0000 không phải NUL",
    ]


async def test_nul_in_decoded_json_is_422(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer = team["officer"]
    url = await draft(client, team)
    headers = {**officer.headers, **JSON}
    for raw in (
        b'{"body": "a\\u0000b"}',
        b'{"bo\\u0000dy": "x"}',  # in a key
        b'{"body": "x", "more": [{"deep": ["\\\\\\u0000"]}]}',  # escaped backslash, then NUL
    ):
        assert_nul(await client.post(f"{url}/comments", headers=headers, content=raw), "body")
    with_charset = {**officer.headers, "Content-Type": "application/json; charset=utf-8"}
    raw = b'{"body": "a\\u0000"}'
    assert_nul(await client.post(f"{url}/comments", headers=with_charset, content=raw), "body")
    # Broken JSON is left to the app's own answer, NUL escape or not.
    broken = await client.post(f"{url}/comments", headers=headers, content=b'{"body": "\\u0000"')
    assert_problem(broken, 422, "validation_error")
    assert broken.json()["errors"][0]["type"] == "json_invalid"
    assert await listed(client, f"{url}/comments", officer) == []


async def test_nul_in_decoded_form_fields_is_422(client: httpx.AsyncClient) -> None:
    for raw in (b"username=a%00b&password=x", b"username=a&pass%00word=x", b"username=a\0"):
        response = await client.post(f"{API}/auth/token", headers=FORM, content=raw)
        assert_nul(response, "body")
    # "%2500" decodes to the text "%00": an ordinary (wrong) password.
    text = await client.post(
        f"{API}/auth/token", headers=FORM, content=b"username=nobody&password=100%2500"
    )
    assert_problem(text, 400, "invalid_grant")


async def test_nul_in_decoded_path_and_query_is_422(client: httpx.AsyncClient) -> None:
    assert_nul(await client.get(f"{API}/tasks/A%00"), "path")
    assert_nul(await client.get(f"{API}/tasks?agency=%00"), "query")
    assert_nul(await client.get(f"{API}/search?q=a%00b"), "query")
    # Decoded once, as the app does: "%2500" is the text "%00", not a NUL.
    assert (await client.get(f"{API}/tasks/A%2500")).status_code == 404
    search = await client.get(f"{API}/search", params={"q": "100%00"})
    assert search.status_code == 200, search.text


# Media types the app reads as text: multipart only for uploads, JSON only in UTF-8 -------

UNSUPPORTED = "unsupported_media_type"


async def count_rows(sessionmaker: Any, sql: str, **params: Any) -> int:
    from sqlalchemy import text

    async with sessionmaker() as session:
        return int((await session.execute(text(sql), params)).scalar_one())


def multipart_body(boundary: str, fields: dict[str, bytes]) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in fields.items()
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


@pytest.mark.parametrize(
    ("charset", "username"),
    [
        ("", b"admin\0"),
        ("; charset=utf-8", b"admin"),
        ("; charset=utf-7", b"+AAA-admin"),  # Starlette would decode "+AAA-" to a NUL
        ("; charset=unicode_escape", b"\\x00admin"),
    ],
)
async def test_multipart_outside_the_uploads_is_415(
    client: httpx.AsyncClient, sessionmaker: Any, charset: str, username: bytes
) -> None:
    """No route but the evidence uploads documents a multipart body: whatever its charset
    (through which the form parser could decode a NUL), it is refused before it is parsed,
    and nothing is counted against the account or the address."""
    before = await count_rows(sessionmaker, "SELECT count(*) FROM login_throttles")
    body = multipart_body("XX", {"username": username, "password": b"Sai-mat-khau-1"})
    for lang, detail in (
        ("vi", "Tuyến này không nhận nội dung multipart/form-data; hãy gửi dạng được mô tả."),
        ("en", "This route does not take a multipart/form-data body; send the documented type."),
    ):
        response = await client.post(
            f"{API}/auth/token",
            headers={
                "Content-Type": f"multipart/form-data; boundary=XX{charset}",
                "Accept-Language": lang,
            },
            content=body,
        )
        problem = assert_problem(response, 415, UNSUPPORTED)
        assert problem["detail"] == detail
    assert await count_rows(sessionmaker, "SELECT count(*) FROM login_throttles") == before


async def test_an_upload_in_another_charset_than_utf8_is_415(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer = team["officer"]
    url = await draft(client, team, "task-updates")
    target = await first_upload_target(client, officer, url)
    image = png()
    body = (
        b'--XX\r\nContent-Disposition: form-data; name="file"; filename="+AAA-a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + image + b"\r\n--XX--\r\n"
    )
    for charset in ("utf-7", "unicode_escape", "latin-1"):
        refused = await client.post(
            target,
            headers={
                **officer.headers,
                "Content-Type": f"multipart/form-data; boundary=XX; charset={charset}",
            },
            content=body,
        )
        problem = assert_problem(refused, 415, UNSUPPORTED)
        assert problem["detail"] == "Tệp tải lên phải dùng bảng mã UTF-8 (charset=utf-8)."
    assert await listed(client, target, officer) == []
    for index, charset in enumerate(("", "; charset=utf-8", '; charset="UTF-8"')):
        multipart = f"multipart/form-data; boundary=XX{charset}"
        stored = await client.post(
            target,
            headers={**officer.headers, "Content-Type": multipart},
            content=body.replace(b"\r\n--XX--", b"\0" * index + b"\r\n--XX--"),  # new content
        )
        assert stored.status_code == 201, stored.text
        assert stored.json()["filename"] == "+AAA-a.png"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16", "utf-32", "utf-32-le"])
async def test_json_in_another_encoding_than_utf8_is_415(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account], encoding: str
) -> None:
    """RFC 8259 JSON is UTF-8. The standard parser would guess UTF-16 or UTF-32 from the
    zero bytes, where the `\\u0000` escape no longer appears as such: refused, with or
    without a NUL, before anything is stored."""
    admin = accounts["admin"]
    username = f"enc.{secrets.token_hex(4)}"
    user = {
        "username": username,
        "full_name": "a\u0000b",
        "password": "Mot-mat-khau-dai-2358",
        "agency": "SYT",
        "role": "officer",
    }
    for full_name in ("a\\u0000b", "Phạm Văn C"):
        text = orjson.dumps({**user, "full_name": "PLACEHOLDER"}).decode()
        raw = text.replace("PLACEHOLDER", full_name).encode(encoding)
        for lang, detail in (
            ("vi", "Nội dung JSON phải được mã hoá UTF-8."),
            ("en", "A JSON body must be encoded in UTF-8."),
        ):
            response = await client.post(
                f"{API}/users",
                headers={**admin.headers, **JSON, "Accept-Language": lang},
                content=raw,
            )
            problem = assert_problem(response, 415, UNSUPPORTED)
            assert problem["detail"] == detail
    users = "SELECT count(*) FROM users WHERE username = :name"
    assert await count_rows(sessionmaker, users, name=username) == 0
    # UTF-8, with or without a byte order mark (RFC 8259 §8.1 lets parsers ignore it).
    for bom in (b"", b"\xef\xbb\xbf"):
        fine = {**user, "username": f"{username}{len(bom)}", "full_name": "Phạm Văn C"}
        created = await client.post(
            f"{API}/users", headers={**admin.headers, **JSON}, content=bom + orjson.dumps(fine)
        )
        assert created.status_code == 201, created.text

"""Webhook destinations: internal addresses are refused at registration and at every
delivery (on the address the name resolves to then), an operator opens chosen networks,
and the delivery log keeps no answer body.

No traffic leaves the machine, whatever the code under test does: receivers listen on
127.0.0.1, host names resolve from a table the test installs (never a DNS server), every
webhook a test registers to another address is paused (a build that wrongly accepts it
still never posts to it), and before each delivery pass every webhook but the test's own
is paused, so a pass can only post to the test's receiver.
"""

import datetime as dt
import ipaddress
import secrets
import ssl
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from app.core.config import Settings
from app.core.i18n import MESSAGES
from app.main import create_app
from app.services import webhook_destinations
from app.services.webhook_destinations import permitted
from app.services.webhooks import deliver_due, emit, http_client
from tests import db
from tests.factories import Account, signed_in
from tests.services.test_webhooks import Received, delete_hook

API = "/api/v1"
EVENT = "report.returned"
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]


# Fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def strict_app(database_url: str) -> AsyncIterator[Any]:
    """The app with the production default: no network opened for webhooks."""
    settings = db.settings_for(database_url).model_copy(update={"webhook_allowed_networks": []})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def strict(strict_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=strict_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def admin(strict: httpx.AsyncClient, sessionmaker: Any) -> Account:
    return await signed_in(strict, sessionmaker, role="admin", agency="STTTT")


class Names:
    """The resolver's table for a test: name -> addresses; every lookup is counted."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[Any]:
        self.lookups.append(host)
        if host not in self.table:
            raise OSError(f"{host}: not in the test's table")
        return [ipaddress.ip_address(a) for a in self.table[host]]


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> Names:
    table = Names()
    monkeypatch.setattr(webhook_destinations, "resolve", table.resolve)
    return table


class Receiver:
    """An HTTP(S) receiver on 127.0.0.1 answering with the scripted statuses, then 200,
    with a body that must never show up in the delivery log."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[int] = []
        self.port = 0
        self.body = b"internal-secret-" + secrets.token_hex(8).encode()


def serve(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    state = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                state.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = state.script.pop(0) if state.script else 200
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


def certificate(name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for `name` and its key, PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture
def tls_receiver(tmp_path: Any) -> Iterator[tuple[Receiver, str]]:
    """An HTTPS receiver on 127.0.0.1 whose certificate names `hooks.test`."""
    cert, key = certificate("hooks.test")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    for state in serve(context):
        yield state, cert.decode()


# Helpers ------------------------------------------------------------------------------------


def settings_with(app: Any, **changes: Any) -> Settings:
    settings: Settings = app.state.settings
    return settings.model_copy(update=changes)


async def webhook_total(client: httpx.AsyncClient, admin: Account) -> int:
    response = await client.get(f"{API}/webhooks", headers=admin.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


async def register(
    client: httpx.AsyncClient, admin: Account, url: str, *, active: bool = False, lang: str = "vi"
) -> httpx.Response:
    """Paused unless said otherwise: only loopback receivers are ever made active."""
    return await client.post(
        f"{API}/webhooks",
        headers={**admin.headers, "Accept-Language": lang},
        json={"url": url, "secret": secrets.token_hex(16), "events": [EVENT], "active": active},
    )


def assert_blocked(response: httpx.Response, lang: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"] == [
        {
            "loc": ["body", "url"],
            "field": "url",
            "type": "webhook_destination_blocked",
            "message": MESSAGES["field.webhook_destination_blocked"][lang],  # type: ignore[index]
        }
    ]


async def queue_event(sessionmaker: Any, *webhook_ids: int) -> str:
    """One event for the given webhooks, every other webhook paused first (other tests'
    leftovers included), so the delivery passes that follow post to these only. Its data
    names no report (the log shows events about a report only to who may see it)."""
    marker = str(uuid.uuid4())
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE webhooks SET active = (id = ANY(:ids)) WHERE active OR id = ANY(:ids)"),
            {"ids": list(webhook_ids)},
        )
        await emit(session, EVENT, {"marker": marker})
    return marker


async def deliver(sessionmaker: Any, settings: Settings, now: dt.datetime | None = None) -> None:
    async with http_client() as http:
        await deliver_due(sessionmaker, http, settings, now=now, limit=100)


async def log_of(client: httpx.AsyncClient, admin: Account, webhook_id: int) -> dict[str, Any]:
    """The webhook's only delivery, with its attempts."""
    listed = await client.get(f"{API}/webhooks/{webhook_id}/deliveries", headers=admin.headers)
    [delivery] = listed.json()["items"]
    detail = await client.get(
        f"{API}/webhooks/{webhook_id}/deliveries/{delivery['id']}", headers=admin.headers
    )
    assert detail.status_code == 200, detail.text
    return dict(detail.json())


# Registration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8080/hook",
        "http://[::1]:8080/hook",
        "http://10.0.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://localhost:8080/hook",
        "http://LOCALHOST./hook",
        "https://2130706433/hook",  # 127.0.0.1 written as one number
        "https://172.16.5.4/hook",
        "https://192.168.1.10/hook",
        "https://100.64.0.1/hook",
        "https://224.0.0.251/hook",
        "https://240.0.0.1/hook",
        "https://[::]/hook",
        "https://[fe80::1]/hook",
        "https://[fd12:3456::1]/hook",
        "https://[ff02::1]/hook",
        "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
    ],
)
async def test_internal_destinations_are_refused_at_registration(
    strict: httpx.AsyncClient, admin: Account, url: str
) -> None:
    before = await webhook_total(strict, admin)
    lang = "en" if "https" in url else "vi"
    assert_blocked(await register(strict, admin, url, lang=lang), lang)
    assert await webhook_total(strict, admin) == before


async def test_a_name_is_refused_when_any_of_its_addresses_is_internal(
    strict: httpx.AsyncClient, admin: Account, names: Names
) -> None:
    names.table["mixed.example.vn"] = ["1.1.1.1", "10.0.0.5"]
    names.table["internal.example.vn"] = ["fd00::5"]
    before = await webhook_total(strict, admin)
    assert_blocked(await register(strict, admin, "https://mixed.example.vn/h"), "vi")
    assert_blocked(await register(strict, admin, "https://internal.example.vn/h"), "vi")
    assert await webhook_total(strict, admin) == before
    assert names.lookups == ["mixed.example.vn", "internal.example.vn"]


@pytest.mark.parametrize(
    "url",
    [
        "https://1.1.1.1/hooks/dxplan",
        "https://[2606:4700:4700::1111]/hooks/dxplan",
        "https://lgsp.example.vn/hooks/dxplan",  # resolves to a public address
        "https://not-yet.example.vn/hooks/dxplan",  # does not resolve (yet)
    ],
)
async def test_public_destinations_are_accepted(
    strict: httpx.AsyncClient, admin: Account, names: Names, url: str
) -> None:
    """Registration only: the webhook is paused and deleted, nothing is ever posted."""
    names.table["lgsp.example.vn"] = ["1.1.1.1", "2606:4700:4700::1111"]
    made = await register(strict, admin, url, active=False)
    assert made.status_code == 201, made.text
    assert made.json()["url"] == url
    await delete_hook(strict, admin, made.json()["id"])


async def test_a_changed_url_is_checked_too(strict: httpx.AsyncClient, admin: Account) -> None:
    made = await register(strict, admin, "https://1.1.1.1/hooks/dxplan", active=False)
    assert made.status_code == 201, made.text
    url = f"{API}/webhooks/{made.json()['id']}"
    refused = await strict.patch(
        url,
        headers={**admin.headers, "If-Match": made.headers["etag"], "Accept-Language": "en"},
        json={"url": "http://169.254.169.254/latest/meta-data/"},
    )
    assert_blocked(refused, "en")
    now = (await strict.get(url, headers=admin.headers)).json()
    assert (now["url"], now["version"]) == ("https://1.1.1.1/hooks/dxplan", 1)
    await delete_hook(strict, admin, made.json()["id"])


# Delivery -----------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["address", "name"])
async def test_delivery_checks_the_address_it_connects_to(
    client: httpx.AsyncClient,
    strict_app: Any,
    sessionmaker: Any,
    names: Names,
    receiver: Receiver,
    by: str,
) -> None:
    """Registered while loopback was open (or while the name pointed elsewhere), delivered
    under the default rule: each attempt is logged as blocked, nothing reaches the receiver,
    and the attempts run out as usual. With the network opened, the event arrives, posted to
    the address that was checked, with the registered name as Host."""
    admin = await signed_in(client, sessionmaker, role="admin", agency="STTTT")
    host = "127.0.0.1" if by == "address" else "hooks.test"
    names.table["hooks.test"] = ["127.0.0.1"]
    made = await register(  # loopback open
        client, admin, f"http://{host}:{receiver.port}/hook", active=True
    )
    assert made.status_code == 201, made.text
    webhook_id = made.json()["id"]
    try:
        marker = await queue_event(sessionmaker, webhook_id)
        closed = settings_with(strict_app, webhook_max_attempts=2)
        t0 = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        await deliver(sessionmaker, closed, t0)
        pending = await log_of(client, admin, webhook_id)
        blocked = f"Blocked: {host} is not a permitted destination (an internal address);"
        assert (pending["status"], pending["attempts"], pending["last_status_code"]) == (
            "pending",
            1,
            None,
        )
        assert pending["last_error"].startswith(blocked)
        await deliver(sessionmaker, closed, t0 + dt.timedelta(days=1))
        failed = await log_of(client, admin, webhook_id)
        assert (failed["status"], failed["attempts"]) == ("failed", 2)
        assert [(a["status_code"], a["error"][: len(blocked)]) for a in failed["attempt_log"]] == [
            (None, blocked),
            (None, blocked),
        ]
        assert receiver.received == []

        # The operator opens loopback: a redelivery arrives.
        redo = await client.post(
            f"{API}/webhooks/{webhook_id}/deliveries/{failed['id']}/redeliver",
            headers=admin.headers,
        )
        assert redo.status_code == 202, redo.text
        lookups = names.lookups.count("hooks.test")
        opened = settings_with(strict_app, webhook_allowed_networks=[LOOPBACK[0]])
        await deliver(sessionmaker, opened)
        done = await client.get(
            f"{API}/webhooks/{webhook_id}/deliveries/{redo.json()['id']}", headers=admin.headers
        )
        assert (done.json()["status"], done.json()["last_status_code"]) == ("delivered", 200)
        [got] = receiver.received
        assert got.headers["host"] == f"{host}:{receiver.port}"
        assert got.json["data"] == {"marker": marker}
        # The name was resolved once for the attempt, and that answer was used.
        assert names.lookups.count("hooks.test") - lookups == (1 if by == "name" else 0)
    finally:
        await delete_hook(client, admin, webhook_id)


async def test_https_keeps_the_name_for_sni_and_the_certificate(
    client: httpx.AsyncClient,
    sessionmaker: Any,
    names: Names,
    tls_receiver: tuple[Receiver, str],
) -> None:
    """Posted to the checked 127.0.0.1, the TLS handshake still names `hooks.test` and the
    certificate is verified against it: one for another name is refused."""
    receiver, ca = tls_receiver
    names.table["hooks.test"] = ["127.0.0.1"]
    names.table["other.test"] = ["127.0.0.1"]
    admin = await signed_in(client, sessionmaker, role="admin", agency="STTTT")
    settings = settings_with(client._transport.app)  # type: ignore[attr-defined]
    verify = ssl.create_default_context(cadata=ca)
    ids = []
    try:
        for name in ("hooks.test", "other.test"):
            made = await register(
                client, admin, f"https://{name}:{receiver.port}/hook", active=True
            )
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
        await queue_event(sessionmaker, *ids)
        async with httpx.AsyncClient(verify=verify, trust_env=False) as http:
            await deliver_due(sessionmaker, http, settings, limit=100)
        good, bad = [await log_of(client, admin, i) for i in ids]
        assert (good["status"], good["last_status_code"], good["last_error"]) == (
            "delivered",
            200,
            None,
        )
        assert (bad["status"], bad["last_status_code"]) == ("pending", None)
        assert bad["last_error"].startswith("ConnectError")
        assert "certificate" in bad["last_error"].lower()
        [got] = receiver.received
        assert got.headers["host"] == f"hooks.test:{receiver.port}"
    finally:
        for webhook_id in ids:
            await delete_hook(client, admin, webhook_id)


async def test_the_log_keeps_no_answer_body(
    client: httpx.AsyncClient, sessionmaker: Any, receiver: Receiver
) -> None:
    admin = await signed_in(client, sessionmaker, role="admin", agency="STTTT")
    receiver.script = [500]
    made = await register(client, admin, f"http://127.0.0.1:{receiver.port}/hook", active=True)
    assert made.status_code == 201, made.text
    webhook_id = made.json()["id"]
    try:
        await queue_event(sessionmaker, webhook_id)
        settings = settings_with(client._transport.app)  # type: ignore[attr-defined]
        t0 = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        await deliver(sessionmaker, settings, t0)
        await deliver(sessionmaker, settings, t0 + dt.timedelta(days=1))
        assert len(receiver.received) == 2
        detail = await log_of(client, admin, webhook_id)
        assert detail["status"] == "delivered"
        assert [(a["status_code"], a["error"]) for a in detail["attempt_log"]] == [
            (500, "HTTP 500"),
            (200, None),
        ]
        assert [a["response_excerpt"] for a in detail["attempt_log"]] == [None, None]
        listed = await client.get(f"{API}/webhooks/{webhook_id}/deliveries", headers=admin.headers)
        for answer in (listed.text, str(detail)):
            assert receiver.body.decode() not in answer
        async with sessionmaker() as session:
            kept = await session.execute(
                text(
                    "SELECT count(*) FROM webhook_attempts"
                    " WHERE delivery_id = :id AND response_excerpt IS NOT NULL"
                ),
                {"id": detail["id"]},
            )
            assert kept.scalar_one() == 0
    finally:
        await delete_hook(client, admin, webhook_id)


# The rule and its setting -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("1.1.1.1", True),
        ("8.8.4.4", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:1.1.1.1", True),
        ("127.0.0.1", False),
        ("127.255.0.9", False),
        ("::1", False),
        ("169.254.169.254", False),
        ("fe80::1", False),
        ("10.1.2.3", False),
        ("172.31.0.1", False),
        ("192.168.0.1", False),
        ("fc00::1", False),
        ("fd00:ec2::254", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("ff0e::1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("192.0.2.1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("::ffff:10.0.0.1", False),
        ("::127.0.0.1", False),
        ("2002:a00:1::", False),
        ("64:ff9b::7f00:1", False),
        ("fec0::1", False),
    ],
)
def test_the_rule(address: str, allowed: bool) -> None:
    assert permitted(ipaddress.ip_address(address), []) is allowed


def test_allowed_networks_open_chosen_ranges() -> None:
    provincial = [ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("fd00:1::/32")]
    assert permitted(ipaddress.ip_address("10.20.3.4"), provincial)
    assert permitted(ipaddress.ip_address("::ffff:10.20.3.4"), provincial)
    assert permitted(ipaddress.ip_address("fd00:1::9"), provincial)
    assert not permitted(ipaddress.ip_address("10.21.0.1"), provincial)
    assert not permitted(ipaddress.ip_address("127.0.0.1"), provincial)
    assert not permitted(ipaddress.ip_address("169.254.169.254"), provincial)


def test_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DXPLAN_WEBHOOK_ALLOWED_NETWORKS", raising=False)
    assert Settings().webhook_allowed_networks == []
    monkeypatch.setenv("DXPLAN_WEBHOOK_ALLOWED_NETWORKS", " 10.20.0.0/16, fd00:1::/32 ,")
    assert Settings().webhook_allowed_networks == [
        ipaddress.ip_network("10.20.0.0/16"),
        ipaddress.ip_network("fd00:1::/32"),
    ]
    monkeypatch.setenv("DXPLAN_WEBHOOK_ALLOWED_NETWORKS", "10.20.0.0/33")
    with pytest.raises(ValueError):
        Settings()

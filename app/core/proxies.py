"""The client's address: the TCP peer, or what a trusted reverse proxy says it is.

Invariant: ``X-Forwarded-For`` (and ``X-Forwarded-Proto``) are believed only when the TCP
peer is in ``DXPLAN_TRUSTED_PROXIES``; from anyone else they are ignored, so a client cannot
pick a fresh address per request and slip past the per-address sign-in limit. With a trusted
peer, the client is the rightmost address of the header that is not itself a trusted proxy
(each proxy appends the address it was reached from, so everything left of that entry was
written by the client and proves nothing).

``ClientAddressMiddleware`` resolves the address once per request and writes it into the
ASGI scope in place, so every reader agrees: ``client_address(request)`` (throttling, audit),
Starlette's ``request.client`` and uvicorn's access log. uvicorn's own proxy handling is off
(``uvicorn_options``): it would trust 127.0.0.1 by default, whatever the setting says.
"""

from collections.abc import Sequence
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


def parse_address(value: str) -> Address | None:
    """An address from a peer, a header entry or a URL's host (``1.2.3.4``, ``1.2.3.4:80``,
    ``[::1]:80``, ``[::1]``), IPv4-mapped IPv6 unwrapped, so one client is always written the
    same way and a mapped address is judged as the IPv4 address it is; None when the value
    is not an address (a host name). The one IP parser: throttling, audit and webhook
    destinations all use it."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        parsed = ip_address(value)
    except ValueError:
        return None
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


class TrustedProxies:
    def __init__(self, networks: Sequence[Network]) -> None:
        self.networks = tuple(networks)
        self.contains = lru_cache(maxsize=1024)(self._contains)
        # A peer's address as written everywhere (parsing one costs about 10 µs per request).
        self.plain = lru_cache(maxsize=4096)(self._plain)

    @staticmethod
    def _plain(peer: str) -> str:
        address = parse_address(peer)
        return peer if address is None else str(address)

    def _contains(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: Sequence[bytes]) -> str | None:
        """The client address for a request from ``peer`` carrying these XFF headers."""
        if peer is not None and (not self.networks or not forwarded_for):
            return self.plain(peer)
        peer_address = parse_address(peer) if peer else None
        if peer_address is None:
            return peer  # a unix socket or a test client: nothing to resolve
        if not self.networks or not self.contains(peer_address) or not forwarded_for:
            return str(peer_address)
        entries = b",".join(forwarded_for).decode("latin-1").split(",")
        client = peer_address
        for entry in reversed(entries):
            hop = parse_address(entry)
            if hop is None:
                # Not an address: no trusted proxy wrote it. Stop at the last hop vouched for.
                break
            client = hop
            if not self.contains(hop):
                break
        return str(client)


class ClientAddressMiddleware:
    """Replace ``scope["client"]`` by the resolved client address (see the module)."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = TrustedProxies(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            resolve_client(scope, self.trusted)
        await self.app(scope, receive, send)


def resolve_client(scope: Scope, trusted: TrustedProxies) -> None:
    """Write the resolved client address (and a trusted proxy's scheme) into the scope."""
    peer = scope.get("client")
    host = peer[0] if peer else None
    forwarded = [v for k, v in scope["headers"] if k == b"x-forwarded-for"]
    resolved = trusted.client(host, forwarded)
    if resolved is not None and resolved != host:
        scope["client"] = (resolved, 0)
    if trusted.networks and host and _from_proxy(trusted, host):
        _apply_forwarded_proto(scope)


def _from_proxy(trusted: TrustedProxies, host: str) -> bool:
    address = parse_address(host)
    return address is not None and trusted.contains(address)


def _apply_forwarded_proto(scope: Scope) -> None:
    for key, value in scope["headers"]:
        if key == b"x-forwarded-proto":
            proto = value.decode("latin-1").strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto if scope["type"] == "http" else proto.replace("http", "ws")
            return


def client_address(request: Request) -> str | None:
    """The client's address for throttling, audit and logs (resolved by the middleware)."""
    return request.client.host if request.client else None


def uvicorn_options() -> dict[str, Any]:
    """uvicorn's proxy options for `dxplan serve`: off, since the app resolves the client
    itself from ``DXPLAN_TRUSTED_PROXIES``. (uvicorn's default would trust X-Forwarded-For
    from 127.0.0.1, so any process on the host could forge it.)"""
    return {"proxy_headers": False}

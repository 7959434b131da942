"""Where webhooks may be posted: public addresses, plus the networks an operator opens.

A webhook URL is chosen by an administrator, and the service posts to it from inside the
province's network: without a rule, a receiver at `http://169.254.169.254/…` (cloud
metadata), `http://127.0.0.1:…` or `http://10.…` makes the service reach what only it can
reach. One rule, `permitted`, decides for every address, and it is applied twice:

- at registration and on every change of the URL, to the literal address or to every
  address the host name resolves to now (a 422 field error on `url`);
- at every delivery, to every address the name resolves to then (a name may be pointed
  elsewhere after registration: DNS rebinding). The attempt is then made to the address
  that was checked, never to the name, so a second resolution cannot swap it (see
  `services/webhooks._post`).

`DXPLAN_WEBHOOK_ALLOWED_NETWORKS` (CIDRs) opens chosen ranges, for receivers on a private
provincial network; nothing else is configurable.
"""

import asyncio
import socket
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address

import httpx

from app.core.errors import FieldValidationError
from app.core.proxies import Address as IPAddress
from app.core.proxies import Network, parse_address

# The NAT64 well-known prefix (RFC 6052): its last 32 bits are an IPv4 address a
# translator would connect to.
_NAT64 = IPv6Network("64:ff9b::/96")
# A registration waits at most this long for the name to resolve; a name that does not
# resolve in time is accepted, since every delivery checks again.
REGISTRATION_RESOLVE_SECONDS = 5.0


class DestinationBlockedError(Exception):
    """The destination resolves to at least one address the rule refuses."""

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host = host


def _public(address: IPAddress) -> bool:
    """Globally reachable unicast. `is_global` alone lets multicast through (224.0.0.0/4 is
    not in the IANA special-purpose registry it follows), so every class is named."""
    if (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    ):
        return False
    return not (isinstance(address, IPv6Address) and address.is_site_local)


def _embedded_ipv4(address: IPv6Address) -> list[IPv4Address]:
    """IPv4 addresses an IPv6 address leads to through a translator or tunnel (6to4,
    Teredo, NAT64): `2002:7f00:1::` is a way to say 127.0.0.1."""
    found = [address.sixtofour, *(address.teredo or ())]
    if address in _NAT64:
        found.append(IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def permitted(address: IPAddress, allowed: Sequence[Network]) -> bool:
    """The one rule: an address in an allowed network, or a public one.

    An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is judged as the IPv4 address it is;
    an IPv6 address that embeds an IPv4 one must be public on both counts.
    """
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address.version == net.version and address in net for net in allowed):
        return True
    embedded = _embedded_ipv4(address) if isinstance(address, IPv6Address) else []
    return all(_public(a) for a in (address, *embedded))


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host` (A and AAAA), in its order.
    Tests replace this function: they never ask a DNS server."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ip_address(info[4][0]) for info in infos))


async def checked_addresses(host: str, port: int, allowed: Sequence[Network]) -> list[IPAddress]:
    """The addresses to connect to for `host`, every one of them permitted; else
    `DestinationBlockedError`. Resolution failures raise OSError (socket.gaierror)."""
    found = parse_address(host)  # a literal address; an IPv4-mapped one as its IPv4
    addresses = [found] if found is not None else await resolve(host, port)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    if not all(permitted(a, allowed) for a in addresses):
        raise DestinationBlockedError(host)
    return addresses


def host_and_port(url: httpx.URL) -> tuple[str, int]:
    """The host as resolvers and TLS see it (IDNA-encoded, no brackets) and the port."""
    port = url.port or (443 if url.scheme == "https" else 80)
    return url.raw_host.decode("ascii"), port


async def check_registration(url: str, allowed: Sequence[Network]) -> None:
    """Refuse (422 on `url`) a receiver whose literal address, or any address its name
    resolves to now, is not permitted. A name that does not resolve (yet), or not within
    REGISTRATION_RESOLVE_SECONDS, is accepted: the check at delivery time still holds."""
    host, port = host_and_port(httpx.URL(url))
    try:
        async with asyncio.timeout(REGISTRATION_RESOLVE_SECONDS):
            await checked_addresses(host, port, allowed)
    except DestinationBlockedError:
        raise FieldValidationError([("url", "webhook_destination_blocked")]) from None
    except (OSError, TimeoutError, UnicodeError):
        return

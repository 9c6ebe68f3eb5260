"""Calls to an address a vendor registered reach the public internet only (issue 21, item 7).

Registration checks a vendor's host name, but the name's DNS is the vendor's: it can come to
resolve to the portal's own computer, the association's private network or a cloud metadata
service. So the HTTP client that calls vendors resolves the name itself, refuses it when any
address it resolves to is not public, and connects to an address it checked: nothing resolves
the name a second time, so DNS that answers differently on a second lookup gains nothing. The
host name still names the site for TLS (SNI and the certificate check) and in `Host`.

It is an httpcore network backend under httpx's own transport, so everything else (TLS,
HTTP/1.1, timeouts, the errors httpx raises) is the library's."""

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: an IPv4 address in its last 32 bits
SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598: carrier-grade NAT


class AddressRefused(Exception):
    """The host resolves to an address the portal does not call; str() says so, for staff."""


def carried(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one stands for (IPv4-mapped, NAT64-translated or 6to4), else
    the address itself: each reaches what the IPv4 address would."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour or address


def not_public(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """What kind of non-public address this is, in words; None for a public one."""
    reached = carried(address)
    if reached.is_loopback:
        return None if allow_loopback else "the portal's own computer"
    kinds = (
        (reached.is_unspecified, "an unspecified address"),
        (reached.is_link_local, "a link-local address"),
        (reached.is_multicast, "a multicast address"),
        (reached in SHARED, "a shared carrier network address"),
        (reached.is_private, "a private network address"),
        (reached.is_reserved, "a reserved address"),
        (not reached.is_global, "an address that is not public"),
    )
    return next((words for found, words in kinds if found), None)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system's resolver gives for `host`, in its order, once each."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"{host} does not resolve ({exc.strerror})") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
    return list(dict.fromkeys(addresses))


class PublicOnly(httpcore.AsyncNetworkBackend):
    """Resolve, refuse anything not public (loopback too unless allowed), then connect to the
    checked addresses in the resolver's order until one answers."""

    def __init__(self, *, allow_loopback: bool) -> None:
        self.allow_loopback = allow_loopback
        self.backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port)
        for address in addresses:
            kind = not_public(address, allow_loopback=self.allow_loopback)
            if kind is not None:
                # Any one refused refuses the name: a name with one public address and one
                # private could otherwise be steered to the private one.
                raise AddressRefused(
                    f"the address {host} resolves to {kind} ({address}); "
                    "the portal only calls public addresses"
                )
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self.backend.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)


class PublicTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over PublicOnly. httpx has no public parameter for a network backend,
    so the pool it builds is replaced by an equal one with ours."""

    def __init__(self, *, allow_loopback: bool, verify: Any = True) -> None:
        # No proxy from the environment: a proxy would make the connection, unchecked.
        super().__init__(trust_env=False, verify=verify)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=100,  # httpx's own limits
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=PublicOnly(allow_loopback=allow_loopback),
        )


def client(*, allow_loopback: bool) -> httpx.AsyncClient:
    """A client that calls public addresses only, and never follows a redirect (it could lead
    anywhere the vendor's server says)."""
    return httpx.AsyncClient(
        transport=PublicTransport(allow_loopback=allow_loopback),
        follow_redirects=False,
        trust_env=False,
    )

"""portal/public_addresses.py: which addresses the portal refuses to call, and a call over TLS
that connects to the checked address while naming the host for SNI, the certificate and Host."""

import ipaddress
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from portal.public_addresses import AddressRefused, PublicTransport, not_public

REFUSED = {
    "127.0.0.1": "the portal's own computer",
    "::1": "the portal's own computer",
    "::ffff:127.0.0.1": "the portal's own computer",
    "10.0.0.5": "a private network address",
    "192.168.1.1": "a private network address",
    "fd00::1": "a private network address",
    "::ffff:10.0.0.5": "a private network address",  # IPv4-mapped
    "64:ff9b::a00:5": "a private network address",  # NAT64-translated 10.0.0.5
    "2002:a00:5::1": "a private network address",  # 6to4 of 10.0.0.5
    "169.254.169.254": "a link-local address",  # cloud metadata services
    "fe80::1": "a link-local address",
    "100.64.0.1": "a shared carrier network address",
    "224.0.0.1": "a multicast address",
    "ff02::1": "a multicast address",
    "0.0.0.0": "an unspecified address",  # noqa: S104 - an address under test
    "::": "an unspecified address",
    "240.0.0.1": "a private network address",  # reserved, and the standard library says private
    "::a00:5": "a reserved address",  # the deprecated IPv4-compatible form
    "2001:db8::1": "a private network address",  # documentation
}
PUBLIC = ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:8.8.8.8")


@pytest.mark.parametrize(("address", "words"), REFUSED.items())
def test_addresses_that_are_not_public_are_named_for_staff(address: str, words: str) -> None:
    assert not_public(ipaddress.ip_address(address), allow_loopback=False) == words


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_called(address: str) -> None:
    assert not_public(ipaddress.ip_address(address), allow_loopback=False) is None


def test_development_allows_loopback_and_nothing_else() -> None:
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert not_public(ipaddress.ip_address(address), allow_loopback=True) is None
    for address in ("10.0.0.5", "169.254.169.254", "0.0.0.0"):  # noqa: S104
        assert not_public(ipaddress.ip_address(address), allow_loopback=True) is not None


def certificate_for(name: str, directory: Path) -> Path:
    """A self-signed certificate for `name` with its key, in one PEM file."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{name}.pem"
    path.write_bytes(
        certificate.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture
def tls_site(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """An https server on 127.0.0.1 whose certificate names only `localhost`; yields its URL by
    name, the certificate, and what it saw of each request (SNI, then Host)."""
    pem = certificate_for("localhost", tmp_path)
    seen: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pem)
    context.sni_callback = lambda _socket, name, _context: seen.append(f"sni {name}")  # type: ignore[assignment,func-returns-value]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"host {self.headers.get('Host')}")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}/", pem, seen
    finally:
        server.shutdown()
        server.server_close()


async def test_tls_names_the_host_while_connecting_to_the_checked_address(
    tls_site: tuple[str, Path, list[str]],
) -> None:
    url, pem, seen = tls_site
    trusted = ssl.create_default_context(cafile=str(pem))
    transport = PublicTransport(allow_loopback=True, verify=trusted)
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get(url)).status_code == 204
    port = url.rsplit(":", 1)[1].rstrip("/")
    assert seen == ["sni localhost", f"host localhost:{port}"]


async def test_the_same_site_is_refused_when_loopback_is_not_allowed(
    tls_site: tuple[str, Path, list[str]],
) -> None:
    url, _, seen = tls_site
    transport = PublicTransport(allow_loopback=False, verify=ssl.create_default_context())
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(AddressRefused, match="resolves to the portal's own computer"):
            await client.get(url)
    assert seen == []

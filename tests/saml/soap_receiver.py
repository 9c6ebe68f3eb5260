"""A SAML SP's SOAP SingleLogoutService for the tests: a real HTTP server on loopback that keeps
every request it is POSTed (path, headers, body) and answers as told — given HTTP statuses
first, then 200 with a SOAP envelope holding a LogoutResponse in answer to the request, with
Success unless given SAML statuses (or raw answers) for it — or, given an SP (`respond`: a stock
SP library's SOAP endpoint), what that SP answers."""

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"


def logout_response(request: bytes, status: str) -> bytes:
    found = re.search(rb' ID="([^"]+)"', request)
    in_response_to = found.group(1).decode() if found else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soap-env:Body><samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_sp-answer" Version="2.0" '
        f'IssueInstant="2026-01-01T00:00:00Z" InResponseTo="{in_response_to}">'
        "<saml:Issuer>https://sp.example.com/saml/metadata</saml:Issuer>"
        f'<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>'
        "</samlp:LogoutResponse></soap-env:Body></soap-env:Envelope>"
    ).encode()


@dataclass(frozen=True)
class Posted:
    path: str
    content_type: str
    soap_action: str
    body: bytes
    status: int


@dataclass
class SoapReceiver:
    url_base: str = ""
    port: int = 0
    posts: list[Posted] = field(default_factory=list)
    statuses: dict[str, list[int]] = field(default_factory=dict)  # by path: answered first
    # By path, after any HTTP statuses: a SAML status URI, or the raw bytes to answer instead.
    answers: dict[str, list[str | bytes]] = field(default_factory=dict)
    respond: Callable[[bytes], bytes] | None = None  # the SP's answer to a request's body
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        return f"{self.url_base}/soap/{name}"

    def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, bytes]:
        with self.lock:
            planned = self.statuses.get(path)
            status = planned.pop(0) if planned else 200
            said = self.answers.get(path)
            saml = said.pop(0) if said and status == 200 else None
            if isinstance(saml, bytes):
                text = saml
            elif saml is None and self.respond is not None and status == 200:
                text = self.respond(body)
            else:
                text = logout_response(body, saml or SUCCESS)
            posted = Posted(
                path,
                headers.get("Content-Type", ""),
                headers.get("SOAPAction", ""),
                body,
                status,
            )
            self.posts.append(posted)
        return status, text if status == 200 else b""


@contextmanager
def receiving() -> Iterator[SoapReceiver]:
    receiver = SoapReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, answer = receiver.answer(self.path, self.headers, self.rfile.read(length))
            self.send_response(status)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    receiver.url_base = f"http://127.0.0.1:{receiver.port}"
    thread = threading.Thread(target=server.serve_forever, name="soap-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()

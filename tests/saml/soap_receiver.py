"""A SAML SP's SOAP SingleLogoutService for the tests: a real HTTP server on loopback that keeps
every request it is POSTed (path, headers, body) and answers as told — given statuses first,
then 200 with a SOAP envelope (the SP's LogoutResponse is not read by the portal)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soap-env:Body/></soap-env:Envelope>"
)


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
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        return f"{self.url_base}/soap/{name}"

    def answer(self, path: str, headers: Any, body: bytes) -> int:
        with self.lock:
            planned = self.statuses.get(path)
            status = planned.pop(0) if planned else 200
            posted = Posted(
                path,
                headers.get("Content-Type", ""),
                headers.get("SOAPAction", ""),
                body,
                status,
            )
            self.posts.append(posted)
        return status


@contextmanager
def receiving() -> Iterator[SoapReceiver]:
    receiver = SoapReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status = receiver.answer(self.path, self.headers, self.rfile.read(length))
            answer = OK if status == 200 else b""
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

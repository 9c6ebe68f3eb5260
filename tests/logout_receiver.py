"""A vendor's back-channel logout endpoint for the tests: a real HTTP server on loopback that
verifies every logout token it is sent, as docs/single-logout.md tells vendors to, with the
portal's published keys: signature, typ, iss, aud, events, no nonce, a short life, a `jti` not
seen before. Each vendor is a path (`/logout/<vendor key>`); a vendor can be told to answer
with given statuses first, or to hang on its first request after acting on it."""

import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet

EVENT = "http://schemas.openid.net/event/backchannel-logout"


@dataclass(frozen=True)
class Post:
    vendor: str
    jti: str | None
    status: int
    repeat: bool  # a jti this receiver had acted on already


@dataclass
class Receiver:
    issuer: str
    # The portal's published JWK Set, fetched as a vendor would (or set in `keys` by the test).
    fetch_keys: Callable[[], dict[str, Any]] | None = None
    keys: dict[str, Any] = field(default_factory=dict)
    now: Callable[[], float] = time.time
    url_base: str = ""
    posts: list[Post] = field(default_factory=list)
    acted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # vendor -> claims
    problems: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # the Host header of each request
    statuses: dict[str, list[int]] = field(default_factory=dict)  # answered first, in order
    hang_first: set[str] = field(default_factory=set)
    hanging: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, vendor: str) -> str:
        return f"{self.url_base}/logout/{vendor}"

    def receive(self, vendor: str, body: bytes, content_type: str) -> int:
        form = urllib.parse.parse_qs(body.decode())
        if content_type != "application/x-www-form-urlencoded" or list(form) != ["logout_token"]:
            return self.refuse(vendor, None, f"{vendor}: not a form with only logout_token")
        with self.lock:
            planned = self.statuses.get(vendor)
            if planned:
                status = planned.pop(0)
                self.posts.append(Post(vendor, None, status, False))
                return status
        try:
            claims = self.verify(vendor, form["logout_token"][0])
        except AssertionError as exc:
            return self.refuse(vendor, None, f"{vendor}: {exc}")
        with self.lock:
            seen = {c["jti"] for found in self.acted.values() for c in found}
            repeat = claims["jti"] in seen
            if not repeat:
                self.acted.setdefault(vendor, []).append(claims)
            self.posts.append(Post(vendor, claims["jti"], 200, repeat))
            hang = vendor in self.hang_first and not repeat
        if hang:  # acted on it, and the answer never leaves: the worst moment for the portal
            self.hanging.set()
            self.release.wait(120)
        return 200

    def refuse(self, vendor: str, jti: str | None, problem: str) -> int:
        with self.lock:
            self.problems.append(problem)
            self.posts.append(Post(vendor, jti, 400, False))
        return 400

    def verify(self, vendor: str, token: str) -> dict[str, Any]:
        published = self.fetch_keys() if self.fetch_keys else self.keys
        decoded = jwt.decode(token, KeySet.import_key_set(published))  # type: ignore[arg-type]
        assert decoded.header.get("typ") == "logout+jwt", decoded.header
        assert decoded.header.get("kid"), "no kid"
        claims: dict[str, Any] = dict(decoded.claims)
        assert claims.get("iss") == self.issuer, claims
        assert claims.get("aud") == vendor, claims
        assert claims.get("events") == {EVENT: {}}, claims
        assert "nonce" not in claims, claims
        assert claims.get("sub") and claims.get("sid") and claims.get("jti"), claims
        now = self.now()
        assert claims["iat"] <= now + 5 and claims["exp"] > now, (claims, now)
        assert 0 < claims["exp"] - claims["iat"] <= 300, "a logout token lives minutes at most"
        return claims

    def jtis(self, vendor: str) -> list[str]:
        return [claims["jti"] for claims in self.acted.get(vendor, [])]


@contextmanager
def receiving(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            vendor = self.path.removeprefix("/logout/")
            receiver.hosts.append(self.headers.get("Host", ""))
            length = int(self.headers.get("Content-Length") or 0)
            status = receiver.receive(
                vendor, self.rfile.read(length), self.headers.get("Content-Type", "")
            )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url_base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="logout-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()

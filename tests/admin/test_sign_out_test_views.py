"""The vendor page's "Send a test sign-out notice" (issue 26 item 16): a logout token for no real
session, POSTed now, and the vendor's answer in words, audited; admins only."""

import base64
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlmodel import select

from portal import logout_notices
from portal.audit_models import AuditEvent
from portal.outbox.models import OutboxItem
from portal.settings import Settings
from tests.admin.browser import Browser, add_staff, text
from tests.conftest import FakeClock, running_app
from tests.flows import add_vendor, unit_of_work


@contextmanager
def vendor_answering(status: int, body: bytes, got: list[dict[str, Any]]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            payload = form["logout_token"][0].split(".")[1]
            got.append(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/logout"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def sending_admin(
    settings: Settings, clock: FakeClock, database_url: str
) -> AsyncIterator[Browser]:
    async with running_app(settings, clock, issuer="https://sso.example.org") as app:
        await add_staff(database_url, "tester@example.org", "admin")
        browser = Browser(app)
        assert (await browser.sign_in("tester@example.org")).status_code == 303
        yield browser


async def test_a_test_notice_shows_the_vendors_answer_and_signs_out_nobody(
    sending_admin: Browser, database_url: str
) -> None:
    got: list[dict[str, Any]] = []
    with vendor_answering(200, b"logged out, thanks", got) as url:
        await add_vendor(database_url, domain="127.0.0.1", backchannel_logout_url=url)
        page = await text(await sending_admin.get("/admin/vendors/acme"))
        assert "Send a test sign-out notice" in page
        response = await sending_admin.post("/admin/vendors/acme/sign-out-notices/test")
        assert response.status_code == 303
        shown = await text(await sending_admin.get(response.headers["Location"]))
    assert "answered 200 OK: it accepted the notice." in shown
    assert "logged out, thanks" in shown
    (claims,) = got
    assert claims["sid"].startswith("portal-test-") and claims["portal_test_notice"] is True
    assert claims["aud"] == "acme" and "nonce" not in claims
    async with unit_of_work(database_url) as s:
        (event,) = await s.exec(select(AuditEvent).where(AuditEvent.event == "logout.test_sent"))
        assert event.outcome == "success" and event.details["status"] == 200
        assert (await s.exec(select(OutboxItem))).all() == []  # sent now, not queued


async def test_a_refusing_vendor_is_shown_as_such(
    sending_admin: Browser, database_url: str
) -> None:
    with vendor_answering(400, b"bad token", []) as url:
        await add_vendor(database_url, domain="127.0.0.1", backchannel_logout_url=url)
        response = await sending_admin.post("/admin/vendors/acme/sign-out-notices/test")
        shown = await text(await sending_admin.get(response.headers["Location"]))
    assert "answered 400: it did not accept the notice." in shown and "bad token" in shown


async def test_only_admins_send_test_notices(
    sending_admin: Browser, database_url: str, settings: Settings, clock: FakeClock
) -> None:
    await add_vendor(database_url, backchannel_logout_url="https://acme-learning.com/sso/logout")
    await add_staff(database_url, "viewer@example.org", "viewer")
    async with running_app(settings, clock, issuer="https://sso.example.org") as app:
        viewer = Browser(app)
        await viewer.sign_in("viewer@example.org")
        response = await viewer.post("/admin/vendors/acme/sign-out-notices/test")
    assert response.status_code == 403


async def test_a_test_notice_keeps_to_public_addresses(settings: Settings) -> None:
    """Outside development a vendor's address at a loopback address is never called, test or
    not: the outbox's rule (portal/public_addresses.py)."""
    got: list[dict[str, Any]] = []
    policy = logout_notices.Policy(
        issuer="https://sso.example.org", timeout=2, lease=timedelta(seconds=30),
        retry_for=timedelta(hours=1), backoff=timedelta(seconds=5), settings=settings,
        allow_loopback=False,
    )  # fmt: skip
    with vendor_answering(200, b"ok", got) as url:
        answer = await logout_notices.send_test(policy, url, "not.a.token")
    assert not answer.outcome.delivered and answer.outcome.reason == "not_public"
    assert got == []

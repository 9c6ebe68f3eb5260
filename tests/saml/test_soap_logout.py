"""A member's portal session ends (here: signing out at the portal) and a SAML vendor it reached
whose metadata offers a SOAP SingleLogoutService gets one signed LogoutRequest (portal/saml/
soap_logout.py, the outbox kind `saml_logout`), at a real SOAP receiver on loopback. A stock SP
library no one here wrote (python3-saml) checks it against the portal's metadata: its signature
with the metadata's certificate, its Issuer, Destination and lifetime, and that it names the
NameID the assertion carried and the session's sid. A vendor that errors is retried; one with
only a front-channel SingleLogoutService gets no row. The app's own worker is off (no issuer):
each test runs the worker's rounds itself, on the test's clock."""

import base64
import html
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lxml import etree
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from quart import Quart
from sqlalchemy import text
from sqlmodel import col, select

from portal import logout_notices, outbox_kinds
from portal.audit_models import AuditEvent
from portal.auth.models import AuthSession
from portal.outbox import queue
from portal.outbox.models import OutboxItem
from portal.saml import names, soap_logout
from portal.settings import Settings
from tests.admin.browser import Browser, add_staff
from tests.admin.browser import text as page_text
from tests.conftest import FakeClock
from tests.flows import csrf_of, sign_in, unit_of_work
from tests.saml import sp
from tests.saml.saml_flows import add_saml_vendor, posted_fields, sp_own_settings
from tests.saml.soap_receiver import SoapReceiver, receiving

pytestmark = pytest.mark.usefixtures("ada")
PORTAL = "http://localhost"  # the test client's origin: the issuer without PORTAL_ISSUER
SIGNATURE = "/samlp:LogoutRequest/ds:Signature"


@pytest.fixture
def clock() -> FakeClock:
    """The real time: the stock SP checks the request's NotOnOrAfter against its own clock."""
    found = FakeClock()
    found.current = datetime.now(UTC).replace(microsecond=0)
    return found


@pytest.fixture
def receiver() -> Iterator[SoapReceiver]:
    with receiving() as running:
        yield running


def soap_slo(receiver: SoapReceiver) -> str:
    return (
        sp.REDIRECT_SLO
        + f'<md:SingleLogoutService Binding="{names.SOAP}" Location="{receiver.url("lms")}"/>'
    )


def policy(settings: Settings) -> logout_notices.Policy:
    return logout_notices.Policy(
        issuer=PORTAL,
        timeout=2.0,
        lease=timedelta(seconds=30),
        retry_for=timedelta(minutes=10),
        backoff=timedelta(seconds=5),
        settings=settings,
        allow_loopback=True,  # the receiver is on loopback, as in development
    )


async def deliver(app: Quart, clock: FakeClock, settings: Settings) -> int:
    async with logout_notices.opened(policy(settings), soap_logout.kind) as kind:
        return await queue.deliver_due(queue.units(app.extensions["db_sessions"]), clock, kind)


async def sign_in_at_the_sp_and_sign_out(
    app: Quart, clock: FakeClock, meanwhile: Callable[[], Awaitable[None]] | None = None
) -> tuple[str, str]:
    """Sign in at the portal, then at the SAML vendor (SP-initiated); `meanwhile`; sign out at
    the portal. Returns the NameID and SessionIndex the assertion carried."""
    member = app.test_client()
    assert (await sign_in(member)).status_code == 303
    request = sp.authn_request(clock.current, destination=f"{PORTAL}/saml/sso")
    answer = await member.get(f"/saml/sso?{sp.redirect_query(request)}")
    assert answer.status_code == 200
    _, fields = posted_fields(await answer.get_data(as_text=True))
    response = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    name_id = response.find(f".//{{{names.SAML}}}NameID")
    statement = response.find(f".//{{{names.SAML}}}AuthnStatement")
    assert name_id is not None and name_id.text and statement is not None
    if meanwhile is not None:
        await meanwhile()
    home = await (await member.get("/")).get_data(as_text=True)
    out = await member.post("/sign-out", form={"csrf_token": csrf_of(home)})
    assert out.status_code == 303
    return name_id.text, statement.get("SessionIndex", "")


async def stock_sp_settings(app: Quart) -> tuple[OneLogin_Saml2_Settings, list[str]]:
    """python3-saml's settings from the portal's metadata alone, and its signing certificates."""
    served = await (await app.test_client().get("/saml/metadata")).get_data()
    idp = OneLogin_Saml2_IdPMetadataParser.parse(served.decode())
    merged = OneLogin_Saml2_IdPMetadataParser.merge_settings(sp_own_settings(), idp)
    certs = merged["idp"].get("x509certMulti", {}).get("signing") or [merged["idp"]["x509cert"]]
    return OneLogin_Saml2_Settings(merged), [OneLogin_Saml2_Utils.format_cert(c) for c in certs]


def logout_request_of(envelope: bytes) -> bytes:
    """The one child of the SOAP Body, as sent."""
    root = etree.fromstring(envelope)
    assert root.tag == f"{{{names.SOAP_ENVELOPE}}}Envelope"
    (body,) = root
    (message,) = body
    assert message.tag == f"{{{names.SAMLP}}}LogoutRequest"
    return bytes(etree.tostring(message))


def checked_by_the_stock_sp(
    settings: OneLogin_Saml2_Settings, certs: list[str], receiver: SoapReceiver, xml: bytes
) -> Any:
    request = OneLogin_Saml2_Logout_Request(settings, base64.b64encode(xml).decode())
    # Its own checks (schema, NotOnOrAfter, Destination = where it was received, Issuer = the
    # metadata's entityID); it leaves a signature in the XML to the caller, who checks it with
    # the metadata's certificates.
    at = {"http_host": f"127.0.0.1:{receiver.port}", "script_name": "/soap/lms", "https": "off"}
    assert request.is_valid(at, raise_exceptions=True)
    assert OneLogin_Saml2_Utils.validate_sign(
        xml, multicerts=certs, xpath=SIGNATURE, raise_exceptions=True
    )
    return request


async def outbox(database_url: str) -> list[OutboxItem]:
    async with unit_of_work(database_url) as session:
        return list(await session.exec(select(OutboxItem).order_by(col(OutboxItem.id))))


async def test_the_sp_gets_one_signed_logout_request_naming_the_nameid_and_session(
    app: Quart, clock: FakeClock, settings: Settings, database_url: str, receiver: SoapReceiver
) -> None:
    await add_saml_vendor(database_url, metadata=sp.metadata(logout_services=soap_slo(receiver)))
    name_id, session_index = await sign_in_at_the_sp_and_sign_out(app, clock)
    (row,) = await outbox(database_url)
    assert row.kind == soap_logout.OUTBOX_KIND
    assert await deliver(app, clock, settings) == 1
    assert await deliver(app, clock, settings) == 0  # delivered once, not again

    (posted,) = receiver.posts
    assert posted.path == "/soap/lms" and posted.content_type.startswith("text/xml")
    assert posted.soap_action == soap_logout.HEADERS["SOAPAction"]
    xml = logout_request_of(posted.body)
    stock_settings, certs = await stock_sp_settings(app)
    checked_by_the_stock_sp(stock_settings, certs, receiver, xml)
    assert OneLogin_Saml2_Logout_Request.get_nameid(xml) == name_id
    assert OneLogin_Saml2_Logout_Request.get_nameid_format(xml) == names.PERSISTENT
    async with unit_of_work(database_url) as session:
        portal_session = (await session.exec(select(AuthSession))).one()
        assert OneLogin_Saml2_Logout_Request.get_session_indexes(xml) == [portal_session.sid]
        assert session_index == portal_session.sid
        query = select(AuditEvent).where(col(AuditEvent.event) == soap_logout.EVENT)
        event = (await session.exec(query)).one()
    assert (event.outcome, event.vendor_key, event.details["status"]) == ("success", "lms", 200)
    (row,) = await outbox(database_url)
    assert row.delivered_at is not None and row.attempts == 1


async def test_an_sp_that_errors_is_retried(
    app: Quart, clock: FakeClock, settings: Settings, database_url: str, receiver: SoapReceiver
) -> None:
    await add_saml_vendor(database_url, metadata=sp.metadata(logout_services=soap_slo(receiver)))
    await sign_in_at_the_sp_and_sign_out(app, clock)
    receiver.statuses["/soap/lms"] = [500]
    assert await deliver(app, clock, settings) == 1
    clock.advance(seconds=4)
    assert await deliver(app, clock, settings) == 0  # its pause is 5 seconds
    clock.advance(seconds=1)
    assert await deliver(app, clock, settings) == 1
    assert [p.status for p in receiver.posts] == [500, 200]
    stock_settings, certs = await stock_sp_settings(app)
    checked_by_the_stock_sp(
        stock_settings, certs, receiver, logout_request_of(receiver.posts[1].body)
    )
    (row,) = await outbox(database_url)
    assert (row.attempts, row.last_status, row.delivered_at is not None) == (2, 200, True)


async def test_an_sp_with_only_front_channel_logout_gets_no_soap_request(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    await add_saml_vendor(database_url, metadata=sp.metadata())  # a Redirect SLO only
    await sign_in_at_the_sp_and_sign_out(app, clock)
    assert await outbox(database_url) == []


async def test_the_request_names_the_member_as_the_sp_was_told_after_their_email_changed(
    app: Quart, clock: FakeClock, settings: Settings, database_url: str, receiver: SoapReceiver
) -> None:
    metadata = sp.metadata(logout_services=soap_slo(receiver))
    await add_saml_vendor(database_url, metadata=metadata, saml_nameid_format="email")

    async def new_address() -> None:
        async with unit_of_work(database_url) as session:
            await session.exec(text("UPDATE member SET email = 'ada.new@example.org'"))  # type: ignore[call-overload]

    name_id, _ = await sign_in_at_the_sp_and_sign_out(app, clock, new_address)
    assert name_id == "ada@example.org"
    assert await deliver(app, clock, settings) == 1
    xml = logout_request_of(receiver.posts[0].body)
    assert OneLogin_Saml2_Logout_Request.get_nameid(xml) == "ada@example.org"
    assert OneLogin_Saml2_Logout_Request.get_nameid_format(xml) == names.EMAIL


@pytest.mark.parametrize("told", ["soap", "browser", "not"])
async def test_staff_see_on_the_vendor_page_whether_the_sp_is_told(
    app: Quart, database_url: str, receiver: SoapReceiver, told: str
) -> None:
    slo = {"soap": soap_slo(receiver), "browser": None, "not": ""}[told]
    await add_saml_vendor(database_url, metadata=sp.metadata(logout_services=slo))
    await add_staff(database_url, "admin@example.org", "admin")
    staff = Browser(app)
    assert (await staff.sign_in("admin@example.org")).status_code == 303
    body = html.unescape(await page_text(await staff.get("/admin/vendors/lms")))
    by_soap = f"at the SOAP address in its metadata ({receiver.url('lms')})"
    assert (by_soap in body) is (told == "soap")
    by_browser = (
        f"the portal sends the member's browser through Learning Hub's sign-out address ({sp.SLO})"
    )
    assert (by_browser in body) is (told == "browser")
    assert ("SAML metadata has no sign-out address" in body) is (told == "not")
    assert "has no sign-out notification address" not in body


async def test_the_app_sends_the_kind_wherever_it_sends_logout_notices(settings: Settings) -> None:
    async def kinds(issuer: str | None) -> list[str]:
        names_sent = []
        for opener in outbox_kinds(settings.model_copy(update={"issuer": issuer})):
            async with opener() as kind:
                names_sent.append(kind.name)
        return names_sent

    assert {"logout", soap_logout.OUTBOX_KIND} <= set(await kinds("https://sso.example.org"))
    assert soap_logout.OUTBOX_KIND not in await kinds(None)


@pytest.mark.parametrize(
    ("answer", "attempts", "error"),
    [
        (
            "urn:oasis:names:tc:SAML:2.0:status:Requester",
            1,
            "the vendor answered that it could not sign the member out (Requester)",
        ),
        (b"<html>signed out</html>", 1, "the vendor's answer is not a SAML LogoutResponse"),
    ],
)
async def test_a_200_without_a_successful_logout_response_is_a_failure(
    app: Quart,
    clock: FakeClock,
    settings: Settings,
    database_url: str,
    receiver: SoapReceiver,
    answer: str | bytes,
    attempts: int,
    error: str,
) -> None:
    await add_saml_vendor(database_url, metadata=sp.metadata(logout_services=soap_slo(receiver)))
    await sign_in_at_the_sp_and_sign_out(app, clock)
    receiver.answers["/soap/lms"] = [answer]
    assert await deliver(app, clock, settings) == 1
    clock.advance(hours=1)
    assert await deliver(app, clock, settings) == 0  # final: not tried again
    (row,) = await outbox(database_url)
    assert (row.attempts, row.last_status, row.delivered_at) == (attempts, 200, None)
    assert row.failed_at is not None and row.last_error == error
    async with unit_of_work(database_url) as session:
        query = select(AuditEvent).where(col(AuditEvent.event) == soap_logout.EVENT)
        event = (await session.exec(query)).one()
    assert (event.outcome, event.details["reason"]) == ("failure", "refused")

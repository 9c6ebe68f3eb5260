"""/saml/sso's refusals, table-driven: a request the portal cannot use is a 400 page in plain words
that posts nothing anywhere (an unknown SP, a disabled vendor, an unregistered ACS, a bad or
absent signature, a stale request, hostile or broken XML), each audited as saml.refused with its
reason; a request good enough to answer but not to grant is answered at its registered ACS with
a status saying why (InvalidNameIDPolicy)."""

import base64
import secrets
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from lxml import etree
from quart import Quart
from sqlmodel import col, select

from portal.audit_models import AuditEvent
from portal.models import Vendor
from portal.saml import names
from portal.saml.times import format_instant
from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import Inputs, unit_of_work
from tests.saml import sp
from tests.saml.saml_flows import add_saml_vendor, status_of

ISSUER = "https://sso.example.org"


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    async with running_app(settings, clock, issuer=ISSUER) as app:
        yield app


@pytest.fixture
async def lms(database_url: str) -> None:
    await add_saml_vendor(database_url, metadata=sp.metadata())


def bomb() -> str:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = deflater.compress(b"<a>" + b"a" * (20 * 1024 * 1024)) + deflater.flush()
    return urlencode({"SAMLRequest": base64.b64encode(deflated).decode()})


Query = Callable[[FakeClock], str]


def signed(**options: object) -> Query:
    who = options.pop("who", "sp")
    return lambda clock: sp.redirect_query(
        sp.authn_request(clock.current, **options),  # type: ignore[arg-type]
        who=who,  # type: ignore[arg-type]
    )


REFUSED: dict[str, tuple[Query, str, str]] = {
    "unknown SP": (
        signed(issuer="https://stranger.example.com/md"),
        "unknown_vendor",
        "no active SAML site",
    ),
    "unregistered ACS": (
        signed(extra=' AssertionConsumerServiceURL="https://evil.example/acs"'),
        "unregistered_acs",
        "not one registered",
    ),
    "signed by another key": (signed(who="stranger"), "bad_signature", "does not verify"),
    "unsigned, signature required": (signed(who=None), "unsigned", "not signed"),
    "too old": (
        lambda clock: sp.redirect_query(
            sp.authn_request(
                clock.current, instant=format_instant(clock.current - timedelta(hours=1))
            )
        ),
        "too_old",
        "too old",
    ),
    "dated in the future": (
        lambda clock: sp.redirect_query(
            sp.authn_request(
                clock.current, instant=format_instant(clock.current + timedelta(hours=1))
            )
        ),
        "future",
        "future",
    ),
    "another Destination": (
        signed(destination="https://elsewhere.example.org/saml/sso"),
        "destination",
        "Destination",
    ),
    "a DTD": (
        lambda clock: sp.redirect_query(
            b'<!DOCTYPE x [<!ENTITY e "e">]>' + sp.authn_request(clock.current), who=None
        ),
        "dtd",
        "DTD",
    ),
    "a deflate bomb": (lambda clock: bomb(), "too_large", "inflates to more"),
    "not XML": (lambda clock: sp.redirect_query(b"<a><b></a>", who=None), "malformed", "XML"),
    "no SAMLRequest": (lambda clock: "RelayState=x", "missing", "no SAMLRequest"),
    "posted, not DEFLATE": (
        lambda clock: "SAMLRequest=bm90IGRlZmxhdGU%3D&posted=1",
        "not_deflate",
        "not DEFLATE",
    ),
    "not base64": (lambda clock: "SAMLRequest=%25%25%25", "not_base64", "not base64"),
    "a LogoutRequest": (
        lambda clock: logout_query(clock),
        "wrong_message",
        "not a SAML AuthnRequest",
    ),
    "names another vendor": (
        lambda clock: signed()(clock) + "&vendor=someone-else",
        "vendor",
        "does not come from the site it names",
    ),
}


async def reasons_audited(database_url: str) -> list[tuple[str | None, object]]:
    query = select(AuditEvent).where(col(AuditEvent.event) == "saml.refused")
    async with unit_of_work(database_url) as session:
        rows = (await session.exec(query.order_by(col(AuditEvent.id)))).all()
    return [(row.vendor_key, row.details.get("reason")) for row in rows]


@pytest.mark.usefixtures("lms")
@pytest.mark.parametrize("case", REFUSED)
async def test_a_request_the_portal_cannot_use_is_a_400_page_that_posts_nowhere(
    app: Quart, clock: FakeClock, database_url: str, case: str
) -> None:
    query, reason, words = REFUSED[case]
    answer = await app.test_client().get(f"/saml/sso?{query(clock)}")
    html = await answer.get_data(as_text=True)
    assert answer.status_code == 400, html
    assert words in html
    assert not Inputs(html).forms or "SAMLResponse" not in html
    assert [r for _, r in await reasons_audited(database_url)] == [reason]


@pytest.mark.usefixtures("lms")
async def test_a_disabled_vendor_is_refused(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    async with unit_of_work(database_url) as session:
        vendor = (await session.exec(select(Vendor).where(Vendor.key == "lms"))).one()
        vendor.enabled = False
        session.add(vendor)
    answer = await app.test_client().get(f"/saml/sso?{signed()(clock)}")
    assert answer.status_code == 400
    assert "no active SAML site" in await answer.get_data(as_text=True)
    assert await reasons_audited(database_url) == [("lms", "unknown_vendor")]


@pytest.mark.usefixtures("lms")
async def test_a_good_request_without_a_session_goes_to_the_sign_in_page_naming_the_vendor(
    app: Quart, clock: FakeClock
) -> None:
    client = app.test_client()
    answer = await client.get(f"/saml/sso?{signed()(clock)}")
    assert answer.status_code == 303
    location = answer.headers["Location"]
    continuation = parse_qs(urlsplit(location).query)["next"][0]
    assert continuation.startswith("/saml/sso?SAMLRequest=") and "&vendor=lms" in continuation
    page = await client.get(location)
    assert "Learning Hub" in await page.get_data(as_text=True)


@pytest.mark.usefixtures("lms")
async def test_a_nameid_format_the_vendor_may_not_have_is_answered_invalid_nameid_policy(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    policy = f'<samlp:NameIDPolicy Format="{names.EMAIL}" AllowCreate="true"/>'
    answer = await app.test_client().get(f"/saml/sso?{signed(body=policy)(clock)}")
    html = await answer.get_data(as_text=True)
    assert answer.status_code == 200, html
    found = Inputs(html)
    assert found.forms[0]["action"] == sp.ACS_2  # the registered default
    assert status_of(found.hidden) == [names.REQUESTER, names.INVALID_NAMEID_POLICY]
    assert await reasons_audited(database_url) == [("lms", "invalid_nameid_policy")]


async def test_head_does_nothing(app: Quart, clock: FakeClock) -> None:
    answer = await app.test_client().head(f"/saml/sso?{signed()(clock)}")
    assert answer.status_code == 405


@pytest.mark.usefixtures("lms")
async def test_a_posted_request_continues_as_a_get_of_its_own(app: Quart, clock: FakeClock) -> None:
    xml = sp.signed_xml(sp.authn_request(clock.current))
    answer = await app.test_client().post(
        "/saml/sso", form={"SAMLRequest": sp.posted(xml), "RelayState": "r"}
    )
    assert answer.status_code == 303
    followed = await app.test_client().get(answer.headers["Location"])
    assert followed.status_code == 303
    assert followed.headers["Location"].startswith("/sign-in?")


def logout_query(clock: FakeClock, who: str | None = "sp") -> str:
    xml = (
        f'<samlp:LogoutRequest xmlns:samlp="{names.SAMLP}" xmlns:saml="{names.SAML}" '
        f'ID="_logout1" Version="2.0" IssueInstant="{format_instant(clock.current)}" '
        f'Destination="{sp.SLO_URL}"><saml:Issuer>{sp.ENTITY_ID}</saml:Issuer>'
        f'<saml:NameID Format="{names.PERSISTENT}">member-7</saml:NameID>'
        "<samlp:SessionIndex>sid-1</samlp:SessionIndex></samlp:LogoutRequest>"
    ).encode()
    return sp.redirect_query(xml, who=who)


LOGOUT_REFUSED: dict[str, tuple[Callable[[FakeClock], str], str]] = {
    "unsigned": (lambda clock: logout_query(clock, who=None), "unsigned"),
    "signed by another key": (lambda clock: logout_query(clock, who="stranger"), "bad_signature"),
    "no SAMLRequest": (lambda clock: "RelayState=x", "missing"),
}


@pytest.mark.usefixtures("lms")
@pytest.mark.parametrize("case", LOGOUT_REFUSED)
async def test_a_logout_request_the_portal_cannot_use_is_a_400_page(
    app: Quart, clock: FakeClock, database_url: str, case: str
) -> None:
    query, reason = LOGOUT_REFUSED[case]
    answer = await app.test_client().get(f"/saml/slo?{query(clock)}")
    assert answer.status_code == 400
    query_events = select(AuditEvent).where(col(AuditEvent.event) == "saml.logout_refused")
    async with unit_of_work(database_url) as session:
        rows = (await session.exec(query_events)).all()
    assert [row.details.get("reason") for row in rows] == [reason]


@pytest.mark.usefixtures("lms")
async def test_a_signed_logout_request_without_a_session_is_answered_at_the_vendors_slo(
    app: Quart, clock: FakeClock
) -> None:
    answer = await app.test_client().get(f"/saml/slo?{logout_query(clock)}")
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith(sp.SLO + "?SAMLResponse=")


@pytest.mark.usefixtures("lms")
async def test_a_kind_of_sign_in_the_portal_does_not_offer_is_answered_no_authn_context(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    smartcard = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"
    asked = (
        '<samlp:RequestedAuthnContext Comparison="exact">'
        f"<saml:AuthnContextClassRef>{smartcard}</saml:AuthnContextClassRef>"
        "</samlp:RequestedAuthnContext>"
    )
    answer = await app.test_client().get(f"/saml/sso?{signed(body=asked)(clock)}")
    found = Inputs(await answer.get_data(as_text=True))
    assert found.forms[0]["action"] == sp.ACS_2
    assert status_of(found.hidden) == [names.RESPONDER, names.NO_AUTHN_CONTEXT]
    assert await reasons_audited(database_url) == [("lms", "no_authn_context")]


@pytest.mark.usefixtures("lms")
async def test_a_password_sign_in_asked_for_goes_on_to_the_sign_in_page(
    app: Quart, clock: FakeClock
) -> None:
    asked = (
        '<samlp:RequestedAuthnContext Comparison="minimum">'
        f"<saml:AuthnContextClassRef>{names.PASSWORD_PROTECTED}</saml:AuthnContextClassRef>"
        "</samlp:RequestedAuthnContext>"
    )
    answer = await app.test_client().get(f"/saml/sso?{signed(body=asked)(clock)}")
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/sign-in?")


async def test_the_portal_can_require_every_vendors_requests_to_be_signed(
    settings: Settings, clock: FakeClock, database_url: str
) -> None:
    await add_saml_vendor(database_url, metadata=sp.metadata(requests_signed=False))
    unsigned = sp.redirect_query(sp.authn_request(clock.current), who=None)
    async with running_app(settings, clock, issuer=ISSUER) as lenient:
        assert (await lenient.test_client().get(f"/saml/sso?{unsigned}")).status_code == 303
    async with running_app(
        settings, clock, issuer=ISSUER, saml_want_authn_requests_signed=True
    ) as strict:
        client = strict.test_client()
        answer = await client.get(f"/saml/sso?{unsigned}")
        assert answer.status_code == 400
        assert "not signed" in await answer.get_data(as_text=True)
        assert (await client.get(f"/saml/sso?{signed()(clock)}")).status_code == 303
        idp = etree.fromstring(await (await client.get("/saml/metadata")).get_data())
    descriptor = idp.find(f"{{{names.MD}}}IDPSSODescriptor")
    assert descriptor is not None and descriptor.get("WantAuthnRequestsSigned") == "true"


@pytest.mark.usefixtures("lms")
async def test_a_request_too_large_to_carry_through_the_sign_in_page_is_refused_before_it(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    # Random text does not deflate: 9 KB of it cannot come back from the sign-in page.
    padding = f"<samlp:Extensions><x xmlns='urn:x'>{secrets.token_hex(4500)}</x></samlp:Extensions>"
    xml = sp.signed_xml(sp.authn_request(clock.current, body=padding))
    client = app.test_client()
    posted = await client.post("/saml/sso", form={"SAMLRequest": sp.posted(xml)})
    answer = await client.get(posted.headers["Location"])
    assert answer.status_code == 400
    assert "too large to carry through the sign-in page" in await answer.get_data(as_text=True)
    assert await reasons_audited(database_url) == [("lms", "too_large_to_continue")]

"""The demo's SAML vendor (EventHub Conferences) against a live portal: real HTTP both ways,
python3-saml on its side, the portal's endpoints on the other. Its metadata is what the demo
registered; its passive check shows no form; and the SOAP sign-out it offers ends a session only
on a LogoutRequest the portal signed."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from sqlmodel import select

from portal.auth.models import AuthSession
from portal.demo import saml_vendor
from portal.models import Vendor
from portal.saml import bindings, certificates, logout, metadata, names, service_providers
from portal.saml.certificates import Signer
from portal.saml.sp_metadata import parse_metadata
from portal.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.demo.browser import Browser
from tests.demo.test_vendor import portal_sign_in_forms, signed_in_as
from tests.flows import off_the_loop, unit_of_work
from tests.live import EVENTHUB, LiveDemo


async def test_the_demo_registers_the_metadata_the_sp_publishes(demo: LiveDemo) -> None:
    eventhub = demo.vendor_urls[EVENTHUB]
    async with httpx.AsyncClient() as client:
        served = await client.get(eventhub + saml_vendor.METADATA)
    assert served.headers["content-type"].startswith("application/samlmetadata+xml")
    sp = parse_metadata(served.content, now=datetime.now(UTC), development=True)
    assert sp.entity_id == eventhub + saml_vendor.METADATA
    assert {(e.binding, e.location) for e in sp.logout_services} == {
        (names.REDIRECT, eventhub + saml_vendor.SLO),
        (names.SOAP, eventhub + saml_vendor.SOAP_SLO),
    }
    assert sp.authn_requests_signed
    async with unit_of_work(demo.database_url) as session:
        vendor = (await session.exec(select(Vendor).where(Vendor.key == EVENTHUB))).one()
        registered = await service_providers.of_vendor(session, vendor)
    assert vendor.protocol == "saml"
    assert registered is not None and registered.metadata_xml == served.text
    assert registered.sign_response  # python3-saml here wants the Response signed too


def test_the_passive_check_answers_without_a_form(demo: LiveDemo, visitor: Browser) -> None:
    eventhub = demo.vendor_urls[EVENTHUB]
    page = visitor.auto_post(visitor.get(eventhub + "/check"))  # the portal's answer, NoPassive
    assert "You are not signed in at Example Association." in page.text
    assert portal_sign_in_forms(visitor, demo) == []
    assert any(url.startswith(f"{demo.portal_url}/saml/sso?") for url in visitor.visited)
    visitor.sign_in(eventhub + "/")
    visitor.submit(visitor.get(eventhub + "/"), "/forget")
    page = visitor.auto_post(visitor.get(eventhub + "/check"))
    assert "Yes: you are signed in here as <strong>Ada Lovelace</strong>" in page.text


def test_an_answer_this_browser_did_not_ask_for_is_refused(
    demo: LiveDemo, visitor: Browser
) -> None:
    eventhub = demo.vendor_urls[EVENTHUB]
    answer = visitor.post(eventhub + saml_vendor.ACS, {"SAMLResponse": "bm90IHNhbWw="})
    assert answer.response.status_code == 400
    assert "did not start in this browser" in answer.text
    visitor.get(eventhub + saml_vendor.START)  # a sign-in started: its request ID in a cookie
    for garbage in ("bm90IHNhbWw=", "%%%", ""):
        answer = visitor.post(eventhub + saml_vendor.ACS, {"SAMLResponse": garbage})
        assert answer.response.status_code == 400, answer.text


def test_back_after_signing_in_posts_an_answer_again_and_goes_on_to_the_page(
    demo: LiveDemo, visitor: Browser
) -> None:
    """Back re-visits the portal's sign-in page, which (the member signed in there) answers the
    request already used once more: EventHub sends the member on to the page; the same answer
    from a browser that never asked is still refused."""
    eventhub = demo.vendor_urls[EVENTHUB]
    event = eventhub + "/catalogue/" + demo.sites[EVENTHUB].catalogue.items[0].slug
    portal_form = visitor.get(visitor.get(event).link("Sign in with"))
    answer_page = visitor.submit(portal_form, "/sign-in", username="ada", password="demo-password")
    assert signed_in_as(visitor.auto_post(answer_page)) == "Ada Lovelace"

    again_page = visitor.get(portal_form.url)  # Back: the portal answers the used request again
    fields = next(form for form in again_page.html.forms if form.id == "token-post").fields
    with Browser() as someone_else:
        assert someone_else.post(eventhub + saml_vendor.ACS, fields).response.status_code == 400
    # An answer posted again is checked like any other: no signature, no way on.
    garbage = visitor.post(eventhub + saml_vendor.ACS, {"SAMLResponse": "bm90IHNhbWw="})
    assert garbage.response.status_code == 400
    again = visitor.auto_post(again_page)
    assert (again.url, again.response.status_code) == (event, 200)
    assert signed_in_as(again) == "Ada Lovelace"
    assert "no-store" in again.response.headers["cache-control"]  # Back after sign-out asks again


def stranger() -> Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = certificates.certificate(key, kid="stranger", made_at=datetime.now(UTC), host="evil")
    return Signer("stranger", key, cert)


async def portal_signer(demo: LiveDemo, tmp_path: Path) -> Signer:
    """The live portal's own SAML signing key, as its SOAP sign-outs are signed."""
    config = Settings(
        env="development",
        database_url=demo.database_url,
        data_dir=tmp_path,
        secret_key=TEST_SECRET_KEY,
        issuer=demo.portal_url,
    )
    async with unit_of_work(demo.database_url) as session:
        return await certificates.signer(
            session, issuer=demo.portal_url, now=datetime.now(UTC), settings=config
        )


def soap_logout(demo: LiveDemo, session_index: str, signer: Signer | None, **changes: str) -> bytes:
    return bindings.to_soap(logout_request_xml(demo, session_index, signer, **changes))


def logout_request_xml(
    demo: LiveDemo, session_index: str, signer: Signer | None, **changes: str
) -> bytes:
    eventhub = demo.vendor_urls[EVENTHUB]
    fields = {
        "idp_entity_id": demo.portal_url + metadata.METADATA_PATH,
        "sp_entity_id": eventhub + saml_vendor.METADATA,
        "destination": eventhub + saml_vendor.SOAP_SLO,
        "name_id": "whoever",
        "nameid_format": names.PERSISTENT,
        "session_index": session_index,
        **changes,
    }
    return logout.logout_request(**fields, now=datetime.now(UTC), signer=signer)  # type: ignore[arg-type]


def session_index_of(demo: LiveDemo) -> str:
    """The sid of the one portal session there is (the visitor's)."""

    async def query() -> str:
        async with unit_of_work(demo.database_url) as session:
            return (await session.exec(select(AuthSession))).one().sid

    return off_the_loop(lambda: asyncio.run(query()))


@pytest.mark.parametrize(
    ("who", "changes"),
    [
        ("a stranger", {}),
        ("nobody", {}),
        ("the portal", {"destination": "http://localhost:1/saml/soap"}),
        ("the portal", {"idp_entity_id": "https://evil.example/saml/metadata"}),
    ],
)
def test_a_soap_sign_out_the_portal_did_not_sign_for_here_is_refused(
    demo: LiveDemo, visitor: Browser, tmp_path: Path, who: str, changes: dict[str, str]
) -> None:
    eventhub = demo.vendor_urls[EVENTHUB]
    assert signed_in_as(visitor.sign_in(eventhub + "/")) == "Ada Lovelace"
    sid = session_index_of(demo)
    signer = None  # nobody's: unsigned
    if who == "a stranger":
        signer = stranger()
    elif who == "the portal":
        signer = asyncio.run(portal_signer(demo, tmp_path))
    envelope = soap_logout(demo, sid, signer, **changes)
    answer = httpx.post(eventhub + saml_vendor.SOAP_SLO, content=envelope)
    assert answer.status_code == 400, answer.text
    assert signed_in_as(visitor.get(eventhub + "/")) == "Ada Lovelace"  # still signed in


def test_the_portals_soap_sign_out_ends_that_session_and_is_answered_success(
    demo: LiveDemo, visitor: Browser, tmp_path: Path
) -> None:
    eventhub = demo.vendor_urls[EVENTHUB]
    visitor.sign_in(eventhub + "/")
    signer = asyncio.run(portal_signer(demo, tmp_path))
    envelope = soap_logout(demo, session_index_of(demo), signer)
    answer = httpx.post(eventhub + saml_vendor.SOAP_SLO, content=envelope)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/xml")
    assert f'<samlp:StatusCode Value="{names.SUCCESS}"' in answer.text
    page = visitor.get(eventhub + "/")
    assert signed_in_as(page) is None
    assert "so you are signed out here too" in page.text


@pytest.mark.parametrize(
    "body",
    [b"", b"not xml", b'<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', b"<a/>" * 50_000],
)
def test_a_soap_body_that_is_no_logout_request_is_a_400(demo: LiveDemo, body: bytes) -> None:
    answer = httpx.post(demo.vendor_urls[EVENTHUB] + saml_vendor.SOAP_SLO, content=body)
    assert answer.status_code == 400, answer.text


def wrapped(demo: LiveDemo, victim: str, signer: Signer) -> bytes:
    """Signature wrapping: the portal's signature over a LogoutRequest for another session,
    moved onto an unsigned one for `victim`'s session, with the signed one hidden inside it (so
    the signature still verifies, over what it covered)."""
    signed = etree.fromstring(logout_request_xml(demo, "another-session", signer))
    signature = signed.find(f"{{{names.DS}}}Signature")
    assert signature is not None
    signed.remove(signature)
    forged = etree.fromstring(logout_request_xml(demo, victim, None))
    issuer = forged.find(f"{{{names.SAML}}}Issuer")
    assert issuer is not None
    issuer.addnext(signature)
    extensions = etree.Element(f"{{{names.SAMLP}}}Extensions")
    signature.addnext(extensions)
    etree.SubElement(extensions, "{urn:example:wrap}hidden").append(signed)
    return bindings.to_soap(etree.tostring(forged))


def test_a_signature_moved_onto_another_logout_request_is_refused(
    demo: LiveDemo, visitor: Browser, tmp_path: Path
) -> None:
    eventhub = demo.vendor_urls[EVENTHUB]
    visitor.sign_in(eventhub + "/")
    envelope = wrapped(demo, session_index_of(demo), asyncio.run(portal_signer(demo, tmp_path)))
    answer = httpx.post(eventhub + saml_vendor.SOAP_SLO, content=envelope)
    assert answer.status_code == 400, answer.text
    assert "does not cover" in answer.text
    assert signed_in_as(visitor.get(eventhub + "/")) == "Ada Lovelace"

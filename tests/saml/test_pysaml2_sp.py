"""A second stock SAML SP no one here wrote — pysaml2 — against the live portal (`portal serve`),
configured from the portal's metadata URL alone: it signs a member in (SP-initiated, signed
HTTP-Redirect) and reads the vendor's selected attributes; ForceAuthn shows the sign-in page
again; IsPassive with nobody signed in is NoPassive; an encrypted assertion is decrypted; the
SP signs the member out (its LogoutRequest by Redirect, the portal's LogoutResponse accepted);
and a sign-out elsewhere reaches it by SOAP, the portal's LogoutRequest signature checked by
pysaml2 against the metadata."""

import asyncio
import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, BINDING_SOAP
from saml2.client import Saml2Client
from saml2.request import IncorrectlySigned
from saml2.response import StatusNoPassive
from saml2.s_utils import success_status_factory
from saml2.sigver import verify_redirect_signature
from sqlmodel import select

from portal.outbox.models import OutboxItem
from portal.saml import names
from portal.settings import Settings
from portal.vendor_rules import FieldChoice
from tests.conftest import FakeClock
from tests.flows import csrf_of, live_portal, open_sids, unit_of_work
from tests.oidc.live_flows import on_the_tests_clock, query_of
from tests.saml import pysaml2_sp, sp
from tests.saml.saml_flows import add_saml_vendor, posted_fields, sign_in_through
from tests.saml.soap_receiver import receiving
from tests.saml.test_soap_logout import logout_request_of

pytestmark = [
    pytest.mark.usefixtures("ada"),
    pytest.mark.skipif(pysaml2_sp.XMLSEC1 is None, reason="Debian's xmlsec1 is not installed"),
]
FIELDS = (
    FieldChoice("ImisId"),
    FieldChoice("FirstName"),
    FieldChoice("Email"),
    FieldChoice("MemberType", "type"),
)


@pytest.fixture
def portal_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path) as url:
        yield url


def location(info: dict[str, Any]) -> str:
    return str(dict(info["headers"])["Location"])


async def sign_in(
    client: Saml2Client, browser: httpx.AsyncClient, idp: str, **options: Any
) -> tuple[str, dict[str, str]]:
    """The SP's signed AuthnRequest by Redirect, the browser through the portal: the request's
    ID and what the portal's page posts to the SP's ACS."""
    request_id, info = client.prepare_for_authenticate(
        entityid=idp, relay_state="/courses/42", binding=BINDING_HTTP_REDIRECT, **options
    )
    page = await sign_in_through(browser, location(info))
    assert page.status_code == 200, page.text
    action, fields = posted_fields(page.text)
    assert action == sp.ACS and fields["RelayState"] == "/courses/42"
    return request_id, fields


def consumed(client: Saml2Client, request_id: str, fields: dict[str, str]) -> Any:
    """pysaml2's ACS given what the page posted: every check of its own, signatures included."""
    return client.parse_authn_request_response(
        fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/courses/42"}
    )


async def test_pysaml2_signs_a_member_in_with_the_vendors_attributes(
    portal_url: str, database_url: str, tmp_path: Path
) -> None:
    metadata_url = f"{portal_url}/saml/metadata"
    config = pysaml2_sp.config(tmp_path, metadata_url)
    await add_saml_vendor(database_url, metadata=pysaml2_sp.own_metadata(config), fields=FIELDS)
    client = pysaml2_sp.client(config)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        request_id, fields = await sign_in(client, browser, metadata_url)
        answer = consumed(client, request_id, fields)
        assert answer.ava == {
            "ImisId": ["101"],
            "givenName": ["Ada"],
            "mail": ["ada@example.org"],
            "type": ["REG"],
        }
        name_id = answer.name_id
        assert name_id.format == names.PERSISTENT and name_id.text not in ("101", "ada@example.org")
        assert answer.session_info()["session_index"] == (await open_sids(database_url))[0]

        # ForceAuthn: the sign-in page again, though signed in; then the answer.
        request_id, info = client.prepare_for_authenticate(
            entityid=metadata_url, binding=BINDING_HTTP_REDIRECT, force_authn="true"
        )
        forced = await browser.get(location(info))
        assert forced.status_code == 303 and forced.headers["Location"].startswith("/sign-in?")
        request_id, fields = await sign_in(client, browser, metadata_url, force_authn="true")
        again = consumed(client, request_id, fields)
        assert again.name_id.text == name_id.text


async def test_is_passive_with_nobody_signed_in_is_no_passive_to_pysaml2(
    portal_url: str, database_url: str, tmp_path: Path
) -> None:
    metadata_url = f"{portal_url}/saml/metadata"
    config = pysaml2_sp.config(tmp_path, metadata_url)
    await add_saml_vendor(database_url, metadata=pysaml2_sp.own_metadata(config))
    client = pysaml2_sp.client(config)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        request_id, fields = await sign_in(client, browser, metadata_url, is_passive="true")
    with pytest.raises(StatusNoPassive):
        consumed(client, request_id, fields)


async def test_pysaml2_decrypts_the_encrypted_assertion(
    portal_url: str, database_url: str, tmp_path: Path
) -> None:
    metadata_url = f"{portal_url}/saml/metadata"
    config = pysaml2_sp.config(tmp_path, metadata_url, encrypted=True)
    await add_saml_vendor(
        database_url,
        metadata=pysaml2_sp.own_metadata(config),
        fields=FIELDS,
        saml_encrypt_assertions=True,
    )
    client = pysaml2_sp.client(config)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        request_id, fields = await sign_in(client, browser, metadata_url)
    sent = base64.b64decode(fields["SAMLResponse"])
    assert b"EncryptedAssertion" in sent and b"ada@example.org" not in sent
    answer = consumed(client, request_id, fields)
    assert answer.ava["mail"] == ["ada@example.org"]


async def test_pysaml2_signs_the_member_out_of_the_portal(
    portal_url: str, database_url: str, tmp_path: Path
) -> None:
    """SP-initiated logout: pysaml2's signed LogoutRequest by Redirect ends the portal session,
    and the portal's LogoutResponse — its query-string signature checked with the metadata's
    certificate — ends the SP's own."""
    metadata_url = f"{portal_url}/saml/metadata"
    config = pysaml2_sp.config(tmp_path, metadata_url)
    await add_saml_vendor(database_url, metadata=pysaml2_sp.own_metadata(config))
    client = pysaml2_sp.client(config)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        request_id, fields = await sign_in(client, browser, metadata_url)
        name_id = consumed(client, request_id, fields).name_id
        assert client.is_logged_in(name_id) and await open_sids(database_url)
        ((idp, (binding, info)),) = client.global_logout(name_id).items()
        assert (idp, binding) == (metadata_url, BINDING_HTTP_REDIRECT)
        assert "Signature" in query_of(location(info))
        answer = await browser.get(location(info))
        assert answer.status_code == 303, answer.text
    assert await open_sids(database_url) == []
    assert answer.headers["Location"].startswith(sp.SLO + "?")
    query = query_of(answer.headers["Location"])
    certs = client.metadata.certs(metadata_url, "idpsso", "signing")
    assert any(verify_redirect_signature(query, client.sec.sec_backend, cert) for _, cert in certs)
    response = client.parse_logout_request_response(query["SAMLResponse"], BINDING_HTTP_REDIRECT)
    assert response.status_ok()
    assert client.handle_logout_response(response)[:2] == (0, "200 Ok")
    assert not client.is_logged_in(name_id)


def soap_endpoint(client: Saml2Client, told: list[Any]) -> Callable[[bytes], bytes]:
    """pysaml2 as the SP's SOAP SingleLogoutService: it checks each LogoutRequest (its signature
    with the portal's metadata certificate), ends the session it names, and answers with its
    own LogoutResponse in a SOAP envelope.

    The request is taken out of the envelope as sent (lxml keeps its prefixes): pysaml2's own
    SOAP unwrapping re-serializes it with ElementTree, which renames every namespace prefix
    (ns0, ns1 …), so a signature made by any other software no longer verifies (pysaml2 issue
    551; the test below holds that it still does so)."""

    def respond(body: bytes) -> bytes:
        request = client.parse_logout_request(logout_request_of(body).decode(), binding=None)
        told.append(request)
        client.local_logout(request.message.name_id)
        response = client.create_logout_response(
            request.message, bindings=[BINDING_SOAP], status=success_status_factory()
        )
        return str(
            client.apply_binding(BINDING_SOAP, response, response=True, sign=False)["data"]
        ).encode()

    return respond


async def test_a_sign_out_elsewhere_reaches_pysaml2_by_soap(
    settings: Settings, now_clock: FakeClock, database_url: str, tmp_path: Path
) -> None:
    """IdP-initiated logout: the member signs out at the portal, whose worker sends the SP's
    SOAP SingleLogoutService a signed LogoutRequest; pysaml2 verifies it and answers Success."""
    with receiving() as receiver, on_the_tests_clock(settings, now_clock) as url:
        metadata_url = f"{url}/saml/metadata"
        config = pysaml2_sp.config(tmp_path, metadata_url, soap_logout=receiver.url("lms"))
        await add_saml_vendor(database_url, metadata=pysaml2_sp.own_metadata(config))
        client = pysaml2_sp.client(config)
        told: list[Any] = []
        receiver.respond = soap_endpoint(client, told)
        async with httpx.AsyncClient(base_url=url, timeout=30) as browser:
            request_id, fields = await sign_in(client, browser, metadata_url)
            answer = consumed(client, request_id, fields)
            assert client.is_logged_in(answer.name_id)
            home = await browser.get("/")
            out = await browser.post("/sign-out", data={"csrf_token": csrf_of(home.text)})
            assert out.status_code == 303
        rows = await delivered(database_url)
    (request,) = told
    assert request.message.signature is not None  # checked by pysaml2 (xmlsec1), as below
    assert request.message.name_id == answer.name_id
    assert request.message.session_index[0].text == answer.session_info()["session_index"]
    assert not client.is_logged_in(answer.name_id)
    (row,) = rows  # pysaml2's answer said Success
    assert (row.attempts, row.last_status, row.delivered_at is not None) == (1, 200, True)

    # The same request naming another member: pysaml2 refuses its signature.
    sent = logout_request_of(receiver.posts[0].body)
    forged = sent.replace(answer.name_id.text.encode(), b"someone-else")
    with pytest.raises(IncorrectlySigned):
        client.parse_logout_request(forged.decode(), binding=None)
    # pysaml2's own SOAP unwrapping still breaks every signature not made by pysaml2 (above).
    with pytest.raises(IncorrectlySigned):
        client.parse_logout_request(receiver.posts[0].body.decode(), BINDING_SOAP)


async def delivered(database_url: str) -> list[OutboxItem]:
    """The outbox's rows once the portal's worker has recorded the SP's answer: delivery runs
    beside the browser, not in it."""
    deadline = time.monotonic() + 20
    while True:
        async with unit_of_work(database_url) as session:
            rows = list((await session.exec(select(OutboxItem))).all())
        if rows and all(row.delivered_at or row.failed_at for row in rows):
            return rows
        assert time.monotonic() < deadline, "no SOAP LogoutRequest was answered"
        await asyncio.sleep(0.2)

"""A second stock SAML SP no one here wrote — pysaml2 — against the live portal (`portal serve`),
configured from the portal's metadata URL alone: it signs a member in (SP-initiated, signed
HTTP-Redirect) and reads the vendor's selected attributes; ForceAuthn shows the sign-in page
again; IsPassive with nobody signed in is NoPassive; an encrypted assertion is decrypted; the
SP signs the member out (its LogoutRequest by Redirect, the portal's LogoutResponse accepted);
and a sign-out elsewhere reaches it by SOAP, the portal's LogoutRequest signature checked by
pysaml2 against the metadata."""

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.response import StatusNoPassive

from portal.saml import names
from portal.vendor_rules import FieldChoice
from tests.flows import live_portal, open_sids
from tests.saml import pysaml2_sp, sp
from tests.saml.saml_flows import add_saml_vendor, posted_fields, sign_in_through

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

"""What a SAML vendor and a member's browser do, for the tests of tests/saml: a vendor registered
for SAML from an SP's metadata, and a python3-saml SP configured from the portal's metadata URL
alone."""

import base64
import copy
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from sqlmodel import select

from portal import sign_in_methods, vendors
from portal.models import Vendor
from portal.saml import names
from portal.vendor_rules import FieldChoice
from tests.flows import PASSWORD, Inputs, add_vendor, csrf_of, unit_of_work
from tests.saml import sp

ACS_REQUEST = {
    "https": "on",
    "http_host": "sp.example.com",
    "script_name": "/saml/acs",
    "get_data": {},
    "post_data": {},
}


def pem_body(data: bytes) -> str:
    return "".join(line for line in data.decode().splitlines() if "-----" not in line)


def request_at(site: str, path: str, **data: Any) -> dict[str, Any]:
    """What python3-saml is told of a request at the SP `site` (`site`.example.com)."""
    host = f"{site}.example.com"
    return ACS_REQUEST | {"http_host": host, "script_name": path, **data}


def sp_own_settings(site: str = "sp", **security: Any) -> dict[str, Any]:
    """The stock SP's own settings: the one at sp.example.com (tests/saml/sp.py's), or another
    `site` at `site`.example.com, with its own key."""
    key = sp.signer(site)
    origin = f"https://{site}.example.com"
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": f"{origin}/saml/metadata",
            "assertionConsumerService": {"url": f"{origin}/saml/acs", "binding": names.POST},
            "singleLogoutService": {"url": f"{origin}/saml/slo", "binding": names.REDIRECT},
            "NameIDFormat": names.PERSISTENT,
            "x509cert": pem_body(key.certificate.public_bytes(serialization.Encoding.PEM)),
            "privateKey": key.private_pem.decode(),
        },
        "security": {
            "authnRequestsSigned": True,
            "wantAssertionsSigned": True,
            "signatureAlgorithm": names.RSA_SHA256,
            "digestAlgorithm": names.SHA256,
            "rejectDeprecatedAlgorithm": True,
            **security,
        },
    }


def sp_from_metadata_url(metadata_url: str, site: str = "sp", **security: Any) -> dict[str, Any]:
    """The SP's settings: its own, and all it knows of the portal, read from the metadata URL."""
    own = sp_own_settings(site, **security)
    idp = OneLogin_Saml2_IdPMetadataParser.parse_remote(metadata_url, timeout=10)
    merged = OneLogin_Saml2_IdPMetadataParser.merge_settings(copy.deepcopy(own), idp)
    merged["security"].update(own["security"])
    return dict(merged)


async def add_saml_vendor(
    database_url: str,
    key: str = "lms",
    *,
    metadata: bytes | None = None,
    fields: tuple[FieldChoice, ...] | None = None,
    site: str = "sp",
    name: str = "Learning Hub",
    **choices: Any,
) -> None:
    """A vendor registered for SAML 2.0 from the stock SP's own metadata (or `metadata`), with
    `choices` (saml_nameid_format …); the SP at `site`.example.com."""
    if metadata is None:
        metadata = OneLogin_Saml2_Settings(
            sp_own_settings(site), sp_validation_only=True
        ).get_sp_metadata()
    await add_vendor(database_url, key, name, domain=f"{site}.example.com")
    async with unit_of_work(database_url) as session:
        vendor = (await session.exec(select(Vendor).where(Vendor.key == key))).one()
        if fields is not None:
            await vendors.replace_fields(session, vendor, fields)
        if b"//127.0.0.1:" in metadata:
            # The tests' receivers listen on loopback: registered as a vendor in development
            # would register them, since every address of its metadata must be on its domains.
            await vendors.add_domain(session, vendor, "127.0.0.1", development=True)
        # As the dashboard and `portal vendor set` register it: through the front end's settings.
        method = {"protocol": "saml", "saml_metadata": metadata.decode(), **choices}
        await sign_in_methods.save(session, vendor, method, development=True, now=datetime.now(UTC))


async def sign_in_through(browser: httpx.AsyncClient, url: str) -> httpx.Response:
    """Follow an SSO URL as a browser would, signing ada in when the portal asks; returns the
    page that posts the answer to the vendor."""
    answer = await browser.get(url)
    if answer.status_code == 303 and answer.headers["Location"].startswith("/sign-in?"):
        location = answer.headers["Location"]
        form = await browser.get(location)
        continuation = Inputs(form.text).hidden["next"]
        fields = {"csrf_token": csrf_of(form.text), "username": "ada", "password": PASSWORD}
        signed = await browser.post("/sign-in", data={**fields, "next": continuation})
        assert signed.status_code == 303, signed.text
        answer = await browser.get(signed.headers["Location"])
    return answer


def posted_fields(html: str) -> tuple[str, dict[str, str]]:
    """Where the page's form posts, and what."""
    found = Inputs(html)
    assert len(found.forms) == 1, html
    return str(found.forms[0]["action"]), found.hidden


def consumed(
    settings: dict[str, Any], fields: dict[str, str], request_id: str | None, site: str = "sp"
) -> Any:
    """The stock SP's ACS given what the page posted."""
    auth = OneLogin_Saml2_Auth(request_at(site, "/saml/acs", post_data=fields), settings)
    auth.process_response(request_id=request_id)
    return auth


def status_of(fields: dict[str, str]) -> list[str]:
    """The StatusCode values of a posted Response, outer first."""
    from lxml import etree

    root = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    return [e.get("Value", "") for e in root.iter(f"{{{names.SAMLP}}}StatusCode")]

"""The demo's SAML vendor ("EventHub Conferences"): a service provider built the way a vendor
builds one with the stock library it already has, here python3-saml (OneLogin). It knows the
portal by its metadata URL alone; its own key and certificate are made when the demo starts, and
it publishes its SP metadata at /saml/metadata, from which the demo registers it (data.py).

Read it top to bottom; each step says why.
1. `start`: an AuthnRequest, signed, sent by HTTP-Redirect to the portal's SSO address. Its ID
   is kept in a cookie the portal's cross-site POST brings back (SameSite=None), so only this
   browser can finish the sign-in it started. `passive=1` asks with IsPassive: never a form.
2. `consume`: python3-saml checks the Response (the signatures against the portal's metadata
   certificates, Destination, audience, times, InResponseTo = our request); we keep the NameID
   and the SessionIndex (our sign-out names both; the portal's SOAP sign-out names the
   SessionIndex) and the attributes the association shares with us.
3. `sign_out`: end our session, then a signed LogoutRequest to the portal's /saml/slo; the
   portal's LogoutResponse comes back to our /saml/slo, checked by python3-saml's process_slo.
4. saml_vendor_logout.py: the portal's LogoutRequest over SOAP when the member's portal session
   ends anywhere else.
Everything else is the same small website as the Enhanced demo vendors (portal/demo/vendor.py).
"""

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML
from quart import Blueprint, Quart, Response, abort, current_app, flash, redirect, request, session
from quart.typing import ResponseReturnValue
from werkzeug.wrappers import Response as Redirect  # what quart.redirect makes

from portal.demo import vendor as site_pages
from portal.demo.vendor import VendorSite, own_page, site
from portal.saml import certificates, names

log = logging.getLogger(__name__)
blueprint = Blueprint("saml_vendor", __name__)
START = "/sign-in"  # our sign-in start page, for the portal's "My sites"
METADATA = "/saml/metadata"  # our SP metadata; its URL is our entityID
ACS = "/saml/acs"  # our AssertionConsumerService (HTTP-POST)
SLO = "/saml/slo"  # our SingleLogoutService (HTTP-Redirect): the answer to our sign-out
SOAP_SLO = "/saml/soap"  # our SingleLogoutService (SOAP): sign-outs begun elsewhere
PORTAL_METADATA_SECONDS = 600  # the portal's cacheDuration: its metadata is read again after
NO_PASSIVE = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"


@dataclass(frozen=True)
class OwnKeys:
    """Our signing key and its self-signed certificate (trust comes from our metadata)."""

    private_key_pem: str
    certificate: str  # base64 of the DER, as metadata and python3-saml's settings hold it


@cache
def own_keys() -> OwnKeys:
    """Made once, when the demo starts: nothing to keep, since the demo registers our metadata
    afresh at every start (as staff would import a vendor's new metadata)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = certificates.certificate(
        key, kid="demo-saml-vendor", made_at=datetime.now(UTC), host="localhost"
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return OwnKeys(pem.decode(), certificates.der_base64(cert))


def own_settings(site_url: str) -> dict[str, Any]:
    """python3-saml's settings for our side: our addresses, key, and what we insist on."""
    keys = own_keys()
    return {
        "strict": True,  # every check python3-saml has, on every message
        "debug": False,
        "sp": {
            "entityId": site_url + METADATA,
            "assertionConsumerService": {"url": site_url + ACS, "binding": names.POST},
            "singleLogoutService": {"url": site_url + SLO, "binding": names.REDIRECT},
            "NameIDFormat": names.PERSISTENT,
            "x509cert": keys.certificate,
            "privateKey": keys.private_key_pem,
        },
        "security": {
            # Signed requests: nobody else can send the portal a request in our name.
            "authnRequestsSigned": True,
            "logoutRequestSigned": True,
            "logoutResponseSigned": True,
            # Signed answers only: the assertion, and the message around it (the Response, the
            # LogoutResponse), so nothing in them was changed on the way.
            "wantAssertionsSigned": True,
            "wantMessagesSigned": True,
            "signatureAlgorithm": names.RSA_SHA256,
            "digestAlgorithm": names.SHA256,
            "rejectDeprecatedAlgorithm": True,  # SHA-1 signatures are refused (collisions)
        },
    }


def sp_metadata(site_url: str) -> str:
    """Our SP metadata, as python3-saml writes it, with a second SingleLogoutService: SOAP, the
    address where the portal tells us of a sign-out begun elsewhere (python3-saml's settings
    have room for one SingleLogoutService only)."""
    settings = OneLogin_Saml2_Settings(own_settings(site_url), sp_validation_only=True)
    root = etree.fromstring(settings.get_sp_metadata())
    # The same document for the same key: it changes only when the demo starts again (and is
    # registered again then), not with python3-saml's clock-based validUntil.
    for attribute in ("validUntil", "cacheDuration"):
        root.attrib.pop(attribute, None)
    redirect_slo = root.find(f"{{{names.MD}}}SPSSODescriptor/{{{names.MD}}}SingleLogoutService")
    if redirect_slo is not None:
        redirect_slo.addnext(
            etree.Element(
                f"{{{names.MD}}}SingleLogoutService",
                Binding=names.SOAP,
                Location=site_url + SOAP_SLO,
            )
        )
    text = etree.tostring(root, encoding="unicode")
    errors = settings.validate_metadata(text)
    assert not errors, errors  # our own document: a mistake here is ours, found at start
    return text


def create_saml_vendor_app(site: VendorSite) -> Quart:
    """The Enhanced demo sites' pages and looks, with this module's sign-in and sign-out."""
    from portal.demo import saml_vendor_logout  # step 4: it uses this module's settings

    app = site_pages.create_vendor_app(site, SAML)
    app.register_blueprint(saml_vendor_logout.blueprint)
    return app


def signin_url(path: str = "/", *, passive: bool = False) -> str:
    """Our own start page: the AuthnRequest is built there, with a fresh ID."""
    return f"{START}?" + urlencode({"next": path, **({"passive": "1"} if passive else {})})


@dataclass
class PortalMetadata:
    settings: dict[str, Any]
    read_at: float


async def portal_settings() -> dict[str, Any]:
    """Ours, with all we know of the portal: read from its metadata URL when first needed, and
    again once its cacheDuration has passed (a rotated signing certificate is published there
    before it signs)."""
    known: PortalMetadata | None = current_app.extensions.get("portal_saml_metadata")
    if known is None or time.monotonic() - known.read_at > PORTAL_METADATA_SECONDS:
        # httpx, not python3-saml's parse_remote: this process serves the portal too, and a
        # blocking read would wait for an answer the waiting event loop cannot give.
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{site().portal_url}/saml/metadata")
            response.raise_for_status()
        idp = OneLogin_Saml2_IdPMetadataParser.parse(response.text)
        own = own_settings(site().site_url)
        merged = OneLogin_Saml2_IdPMetadataParser.merge_settings(own, idp)
        merged["security"] = own["security"]  # ours to decide, whatever the portal's says
        known = PortalMetadata(merged, time.monotonic())
        current_app.extensions["portal_saml_metadata"] = known
    return known.settings


async def reach_portal(**security: Any) -> OneLogin_Saml2_Settings:
    """python3-saml's settings (with `security` changed, for one check), or a page for the
    member when the portal's metadata cannot be read."""
    try:
        found = await portal_settings()
    except (httpx.HTTPError, etree.XMLSyntaxError, ValueError, KeyError) as exc:
        log.warning("the portal's SAML metadata could not be read: %s", type(exc).__name__)
        abort(502, "We could not reach the association's portal. Try again in a moment.")
    return OneLogin_Saml2_Settings({**found, "security": {**found["security"], **security}})


async def request_data() -> dict[str, Any]:
    """The request as python3-saml reads it: where it arrived (it checks Destination) and what
    it carried; a redirected message's signature is checked over the query string as sent."""
    form = await request.form
    return {
        "https": "on" if request.scheme == "https" else "off",
        "http_host": request.host,
        "script_name": request.path,
        "get_data": request.args.to_dict(),
        "post_data": form.to_dict(),
        "query_string": request.query_string.decode(),
        "validate_signature_from_qs": True,
    }


def request_cookie() -> str:
    # Cookies ignore the port: the name is our own among the demo vendors on localhost.
    return f"{site().key}_saml_request"


def answered_cookie() -> str:
    return f"{site().key}_saml_answered"


def answered_once(response: Redirect, request_id: str) -> Redirect:
    """A request ID answers once: the next sign-in gets a new one. We keep it as answered, only
    to know an answer to it when Back brings one again (see `consume`)."""
    response.delete_cookie(request_cookie(), secure=True, httponly=True, samesite="None")
    response.set_cookie(
        answered_cookie(), request_id, max_age=3600, secure=True, httponly=True, samesite="None"
    )
    return response


# Step 1 ------------------------------------------------------------------------------------


@blueprint.get(START)
async def start() -> ResponseReturnValue:
    passive = request.args.get("passive") == "1"
    next_page = own_page(site().site_url + request.args.get("next", "/"))
    auth = OneLogin_Saml2_Auth(await request_data(), await reach_portal())
    url = auth.login(return_to=next_page, is_passive=passive)
    response = redirect(url, 303)
    # SameSite=None: the Response arrives in a POST from the portal's origin, a cross-site
    # request, which leaves Lax and Strict cookies behind (browsers count http://localhost as
    # secure, so Secure works in development too).
    response.set_cookie(
        request_cookie(),
        auth.get_last_request_id(),
        max_age=3600,
        secure=True,
        httponly=True,
        samesite="None",
    )
    return response


# Step 2 ------------------------------------------------------------------------------------


@blueprint.post(ACS)
async def consume() -> ResponseReturnValue:
    pending = request.cookies.get(request_cookie())
    # Back after a sign-in re-visits the portal's sign-in page, which (the member still signed
    # in there) answers the request this browser used already once more: checked like any
    # answer, against that request, it only sends the member on to the page (`again` below).
    request_id = pending or request.cookies.get(answered_cookie())
    if not request_id:
        abort(400, "This sign-in did not start in this browser, or it is too old. Sign in again.")
    again = request_id != pending
    form = await request.form
    next_page = own_page(form.get("RelayState"))
    auth = OneLogin_Saml2_Auth(await request_data(), await reach_portal())
    try:
        auth.process_response(request_id=request_id)
    except Exception as exc:  # python3-saml raises what a broken message makes its parser raise
        log.warning("the portal's answer could not be read: %s", type(exc).__name__)
        abort(400, "The portal's answer could not be read. Sign in again.")
    if auth.get_errors():
        if second_level_status(auth) == NO_PASSIVE:  # our IsPassive request, nobody signed in
            response = redirect(site_pages.with_query(next_page, sso="login_required"), 303)
            return response if again else answered_once(response, request_id)
        log.warning("the portal's answer was refused: %s", auth.get_last_error_reason())
        abort(400, "The association's portal sent a sign-in we could not verify. Sign in again.")
    if again:
        # The sign-in is done: no second one (a request answers once). Our session cookie (Lax)
        # is not sent with this cross-site POST, so the page, asked for next, shows what is
        # true; the session is not touched here.
        return redirect(next_page, 303)
    session.clear()  # a fresh session at every sign-in, never one a visitor brought along
    session["member"] = {
        "attributes": auth.get_attributes(),
        "friendly": auth.get_friendlyname_attributes(),
    }
    session["saml"] = {  # what our LogoutRequest names
        "name_id": auth.get_nameid(),
        "name_id_format": auth.get_nameid_format(),
        "nq": auth.get_nameid_nq(),
        "spnq": auth.get_nameid_spnq(),
        "session_index": auth.get_session_index(),
    }
    # Step 4: the portal session this sign-in came from; a SOAP LogoutRequest naming it ends ours.
    session["sid"] = auth.get_session_index()
    return answered_once(redirect(next_page, 303), request_id)


def second_level_status(auth: OneLogin_Saml2_Auth) -> str | None:
    """The answer's second-level StatusCode (NoPassive, say), from the XML python3-saml read."""
    document = auth.get_last_response_xml()
    if not document:
        return None
    root = OneLogin_Saml2_XML.to_etree(document)
    found = OneLogin_Saml2_XML.query(
        root, "/samlp:Response/samlp:Status/samlp:StatusCode/samlp:StatusCode"
    )
    return str(found[0].get("Value")) if len(found) == 1 else None


# Step 3 ------------------------------------------------------------------------------------


@blueprint.post("/sign-out")
async def sign_out() -> ResponseReturnValue:
    """End our session, then the portal's with a signed LogoutRequest naming the member and the
    portal session we were given: the portal ends that session and tells every other site."""
    signed_in = session.get("saml")
    session.clear()
    if not signed_in:
        await flash(f"You are signed out of {site().name}.")
        return redirect("/", 303)
    auth = OneLogin_Saml2_Auth(await request_data(), await reach_portal())
    url = auth.logout(
        return_to=site().site_url + "/",
        name_id=signed_in["name_id"],
        session_index=signed_in["session_index"],
        nq=signed_in["nq"],
        name_id_format=signed_in["name_id_format"],
        spnq=signed_in["spnq"],
    )
    session["logout_request"] = auth.get_last_request_id()  # the answer must be to this one
    return redirect(url, 303)


@blueprint.get(SLO)
async def single_logout() -> ResponseReturnValue:
    """The portal's LogoutResponse, by HTTP-Redirect: signed, to our LogoutRequest, Success."""
    request_id = session.pop("logout_request", None)
    if "SAMLResponse" not in request.args or not request_id:
        abort(400, "This sign-out did not start in this browser, or it is over already.")
    auth = OneLogin_Saml2_Auth(await request_data(), await reach_portal())
    try:
        auth.process_slo(keep_local_session=True, request_id=request_id)
    except Exception as exc:  # python3-saml raises what a broken message makes its parser raise
        log.warning("the portal's sign-out answer could not be read: %s", type(exc).__name__)
        abort(400, "The portal's answer could not be read.")
    if auth.get_errors():
        log.warning("the portal's sign-out answer was refused: %s", auth.get_errors())
        abort(400, "The association's portal sent an answer we could not verify.")
    await flash(f"You are signed out of {site().name} and of {site().association}.")
    return redirect("/", 303)


@blueprint.get(METADATA)
async def metadata() -> ResponseReturnValue:
    return Response(
        sp_metadata(site().site_url),
        content_type="application/samlmetadata+xml",
    )


def display_name(member: dict[str, Any]) -> str:
    """The attributes hold what the association shares with us: the best name there is."""
    friendly = member.get("friendly") or {}

    def first(name: str) -> str:
        return str((friendly.get(name) or [""])[0])

    given_family = " ".join(part for part in (first("givenName"), first("sn")) if part)
    return first("displayName") or given_family or first("mail") or "member"


SAML = site_pages.SignInMethod(blueprint, signin_url, "_attributes.html", display_name)

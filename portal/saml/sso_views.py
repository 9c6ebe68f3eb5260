"""Single sign-on (SAML Profiles §4.1, Web Browser SSO, SP-initiated): a vendor's AuthnRequest at
/saml/sso, by HTTP-Redirect or HTTP-POST, answered with a Response the member's browser posts to
the vendor's registered AssertionConsumerService.

The member's portal session is the one every front end shares: a member without one signs in on
the shared sign-in page, which continues the request here afterwards (`next`), where it is
checked again like any other. A request the portal cannot use — an unknown SP, a disabled vendor,
an AssertionConsumerService not registered for it, a bad signature — is a 400 page in plain
words, and nothing is ever posted to an address the vendor did not register. A request good
enough to answer but not to grant (IsPassive with nobody signed in, a NameID format the vendor
may not have) is answered at its registered ACS with a status saying why."""

from datetime import datetime
from urllib.parse import urlencode

from quart import Blueprint, Response, redirect, render_template, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import (
    audit,
    clock,
    db,
    members,
    pairwise,
    session_cookies,
    session_vendors,
    settings,
    vendors,
)
from portal.auth.models import AuthSession
from portal.claims import member_subject
from portal.continuations import FRESH_SIGN_IN
from portal.models import Member, id_of
from portal.reasons import UNKNOWN_VENDOR
from portal.saml import attributes, bindings, certificates, fresh_sign_in, metadata, names
from portal.saml import requests as saml_requests
from portal.saml.refusals import Refused
from portal.saml.requests import AuthnRequest, Received
from portal.saml.responses import Protection, SignIn, error_response, response
from portal.saml.service_providers import NAMEID_URIS, Registered, by_entity_id
from portal.security import content_security_policy
from portal.urls import form_action_sources

blueprint = Blueprint("saml_sso", __name__)
PATH = metadata.SSO_PATH
# The portal's own marks on a request it continues (never the SP's; its signature covers only
# SAMLRequest, RelayState and SigAlg): a POSTed request carried on as a GET; the vendor the
# sign-in page names (checked against the request's own Issuer here).
POSTED = "posted"
VENDOR = "vendor"
SHORT_NAMEID = {uri: short for short, uri in NAMEID_URIS.items()}


@blueprint.before_request
async def no_head() -> ResponseReturnValue | None:
    """HEAD would run the GET view: sign a member in to a site for a request that only asked for
    headers (a link checker, a preview). Refused before anything is done."""
    if request.method == "HEAD":
        return "", 405, {"Allow": "GET, POST"}
    return None


@blueprint.post(PATH)
async def sso_by_post() -> ResponseReturnValue:
    """HTTP-POST (Bindings §3.5). A cross-site POST carries no SameSite=Lax session cookie, so the
    request goes on as a GET of its own, a top-level navigation, which does: its XML, enveloped
    signature and all, DEFLATEd into the query with the mark `posted`, and checked there as it
    would have been here (nothing is kept on the server)."""
    form = await request.form
    try:
        xml = bindings.from_post(form.get("SAMLRequest", ""))
        relay_state = bindings.relay_state(form.get("RelayState"))
    except Refused as refusal:
        async with db.transaction() as db_session:
            await record_refusal(db_session, None, refusal)
        raise
    query = {"SAMLRequest": bindings.to_redirect(xml), POSTED: "1"}
    if relay_state is not None:
        query["RelayState"] = relay_state
    return redirect(f"{PATH}?{urlencode(query)}", 303)


@blueprint.get(PATH)
async def sso() -> ResponseReturnValue:
    now = clock.now()
    raw_query = request.query_string.decode("ascii", "replace")
    try:
        received = _received(raw_query)
        relay_state = bindings.relay_state(request.args.get("RelayState"))
        root = saml_requests.read(received)
        entity_id = saml_requests.claimed_issuer(root)
    except Refused as refusal:
        async with db.transaction() as db_session:
            await record_refusal(db_session, None, refusal)
        raise
    issuer = portal_issuer()
    async with db.transaction() as db_session:
        found = await by_entity_id(db_session, entity_id)
        try:
            registered = _active(found, entity_id)
            authn = saml_requests.authn_request(
                root,
                received,
                registered.sp,
                destination=issuer + PATH,
                now=now,
                signature_required=False,
            )
        except Refused as refusal:
            await record_refusal(db_session, found.vendor.key if found else None, refusal)
            refused = refusal
        else:
            request_ = Request(registered, authn, relay_state, raw_query, issuer, now)
            return await answer(db_session, request_)
    raise refused


def _received(raw_query: str) -> Received:
    value = request.args.get("SAMLRequest")
    if not value:
        raise Refused("missing", "The request has no SAMLRequest: start again at the site.")
    if request.args.get(POSTED) == "1":
        return Received(names.POST, bindings.to_post(bindings.from_redirect(value)))
    return Received(names.REDIRECT, value, raw_query)


def _active(found: Registered | None, entity_id: str) -> Registered:
    """The SP registered for this entityID, when its vendor is enabled and signs in with SAML;
    a continuation that names another vendor than the request's Issuer is refused too."""
    if found is None or not found.vendor.enabled or found.vendor.protocol != "saml":
        shown = entity_id[:200] or "(none)"
        raise Refused(
            UNKNOWN_VENDOR,
            f"There is no active SAML site with the entityID “{shown}”: the association has "
            "not registered it, or has turned it off.",
        )
    named = request.args.get(VENDOR)
    if named is not None and named != found.vendor.key:
        raise Refused("vendor", "The request does not come from the site it names.")
    return found


def portal_issuer() -> str:
    return settings.current().issuer_for(request.host_url.rstrip("/"))


class Request:
    """A checked AuthnRequest with what answering it needs."""

    def __init__(
        self,
        registered: Registered,
        authn: AuthnRequest,
        relay_state: str | None,
        raw_query: str,
        issuer: str,
        now: datetime,
    ) -> None:
        self.registered, self.authn, self.relay_state = registered, authn, relay_state
        self.raw_query, self.issuer, self.now = raw_query, issuer, now
        self.vendor = registered.vendor
        self.entity_id = metadata.entity_id(settings.current(), issuer)

    def continuation(self, fresh: bool) -> str:
        """This request as a local path for the sign-in page to come back to: as the SP sent it
        (its signature covers its own parameters only), with the portal's marks."""
        kept = [
            part
            for part in self.raw_query.split("&")
            if part and part.partition("=")[0] not in (VENDOR, FRESH_SIGN_IN)
        ]
        marks = {VENDOR: self.vendor.key}
        if fresh:
            marks[FRESH_SIGN_IN] = fresh_sign_in.mark(self.now)
        return f"{PATH}?{'&'.join(kept)}&{urlencode(marks)}"


async def answer(db_session: AsyncSession, req: Request) -> ResponseReturnValue:
    nameid_format = allowed_nameid_format(req)
    if nameid_format is None:
        await record_refusal(db_session, req.vendor.key, Refused("invalid_nameid_policy", ""))
        return await status_page(
            db_session, req, names.REQUESTER, names.INVALID_NAMEID_POLICY, signed_in=False
        )
    portal_session = await session_cookies.current(db_session, "member")
    member = await _member(db_session, portal_session)
    fresh = req.authn.force_authn and not (
        portal_session is not None
        and fresh_sign_in.satisfied(request.args.get(FRESH_SIGN_IN), portal_session, req.now)
    )
    if portal_session is None or member is None or fresh:
        if req.authn.is_passive:  # Core §3.4.1: never a page of the IdP's own
            await audit.record_anonymous(
                db_session, "saml.passive", now=req.now, vendor_key=req.vendor.key,
                client_address=request.remote_addr, reason="login_required",
            )  # fmt: skip
            return await status_page(
                db_session, req, names.RESPONDER, names.NO_PASSIVE, signed_in=False
            )
        fresh_mark = req.authn.force_authn
        return redirect("/sign-in?" + urlencode({"next": req.continuation(fresh_mark)}), 303)
    return await signed_in(db_session, req, portal_session, member, nameid_format)


def allowed_nameid_format(req: Request) -> str | None:
    """The NameID format the response uses: the vendor's; a NameIDPolicy asking for another is
    refused (Core §3.4.1.1: InvalidNameIDPolicy), unspecified meaning any."""
    asked, own = req.authn.nameid_format, req.registered.nameid_format
    return own if asked in (None, names.UNSPECIFIED, own) else None


async def _member(db_session: AsyncSession, portal_session: AuthSession | None) -> Member | None:
    if portal_session is None or portal_session.member_id is None:
        return None
    return await members.select_member_by_id(db_session, portal_session.member_id)


async def signed_in(
    db_session: AsyncSession,
    req: Request,
    portal_session: AuthSession,
    member: Member,
    nameid_format: str,
) -> ResponseReturnValue:
    vendor, sp = req.vendor, req.registered.sp
    name_id = await _name_id(db_session, req, member, nameid_format)
    if name_id is None:
        await record_refusal(db_session, vendor.key, Refused("no_email", ""))
        return await status_page(
            db_session, req, names.RESPONDER, names.INVALID_NAMEID_POLICY, signed_in=False
        )
    selection = [(c.field, c.output) for c in await vendors.select_fields(db_session, vendor)]
    found = attributes.of_member(
        member,
        selection,
        req.now.date(),
        name_format=req.registered.attribute_name_format,
    )
    if portal_session.created_at is None:
        raise ValueError("a portal session has its sign-in time")
    sign_in = SignIn(
        idp_entity_id=req.entity_id,
        sp_entity_id=sp.entity_id,
        acs_url=req.authn.consumer.location,
        in_response_to=req.authn.id,
        name_id=name_id,
        nameid_format=nameid_format,
        session_index=portal_session.sid,
        authn_instant=portal_session.created_at,
        attributes=found,
    )
    signer = await certificates.signer(
        db_session, issuer=req.issuer, now=req.now, settings=settings.current()
    )
    xml = response(sign_in, now=req.now, signer=signer, protection=_protection(req))
    await session_vendors.record(
        db_session, id_of(portal_session), id_of(vendor), "saml", now=req.now
    )
    await audit.record(
        db_session,
        "saml.signed_in",
        vendor_key=vendor.key,
        member_id=member.id,
        client_address=request.remote_addr,
        nameid_format=SHORT_NAMEID[nameid_format],
        encrypted=req.registered.encrypt_assertions,
    )
    return await post_page(db_session, req, bindings.to_post(xml), signed_in=True)


async def _name_id(
    db_session: AsyncSession, req: Request, member: Member, nameid_format: str
) -> str | None:
    """The member's NameID at this vendor: persistent is pairwise (opaque, stable per member and
    vendor: portal/pairwise.py, the key of OpenID Connect's pairwise subjects); email their
    address; unspecified their iMIS ID."""
    if nameid_format == names.EMAIL:
        return member.email
    if nameid_format == names.UNSPECIFIED:
        return member.imis_id
    key = await pairwise.key_for(db_session, True, settings=settings.current())
    return member_subject(req.vendor.key, True, member.imis_id, key)


def _protection(req: Request) -> Protection:
    registered = req.registered
    encrypt_to = None
    if registered.encrypt_assertions:
        if not registered.sp.encryption_certificates:
            # Never sent in the clear to a vendor that asked for encryption.
            raise Refused(
                "no_encryption_certificate",
                "This site asks for encrypted sign-ins but its metadata has no encryption "
                "certificate: the association must import its metadata again.",
            )
        encrypt_to = registered.sp.encryption_certificates[0]
    return Protection(
        sign_response=registered.sign_response, encrypt_to=encrypt_to, cipher=registered.cipher
    )


async def status_page(
    db_session: AsyncSession, req: Request, code: str, second_level: str, *, signed_in: bool
) -> Response:
    """A Response with no assertion, saying why (NoPassive, InvalidNameIDPolicy), posted back
    to the registered ACS the request named."""
    signer = await certificates.signer(
        db_session, issuer=req.issuer, now=req.now, settings=settings.current()
    )
    xml = error_response(
        idp_entity_id=req.entity_id,
        acs_url=req.authn.consumer.location,
        in_response_to=req.authn.id,
        now=req.now,
        code=code,
        second_level=second_level,
        signer=signer,
    )
    return await post_page(db_session, req, bindings.to_post(xml), signed_in=signed_in)


async def post_page(
    db_session: AsyncSession, req: Request, saml_response: str, *, signed_in: bool
) -> Response:
    """The page that posts the Response to the ACS (static/js/autopost.js: no inline script),
    whose CSP lets its form go there and nowhere else but the vendor's own domains (browsers
    apply form-action to the redirects that follow the POST too)."""
    fields = {"SAMLResponse": saml_response}
    if req.relay_state is not None:
        fields["RelayState"] = req.relay_state
    action = req.authn.consumer.location
    page = await render_template(
        "saml/post.html", vendor=req.vendor, action=action, fields=fields, signed_in=signed_in
    )
    domains = await vendors.select_domains(db_session, req.vendor)
    answer = Response(page)
    answer.headers["Content-Security-Policy"] = content_security_policy(
        form_action=" ".join(form_action_sources(action, domains))
    )
    return answer


async def record_refusal(
    db_session: AsyncSession, vendor_key: str | None, refusal: Refused
) -> None:
    await audit.record_anonymous(
        db_session, "saml.refused", now=clock.now(), vendor_key=vendor_key,
        client_address=request.remote_addr, reason=refusal.reason,
    )  # fmt: skip

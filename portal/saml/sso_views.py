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

from quart import Blueprint, Response, redirect, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import (
    audit,
    clock,
    db,
    members,
    session_cookies,
    session_vendors,
    settings,
    vendors,
)
from portal.auth.models import AuthSession
from portal.continuations import FRESH_SIGN_IN
from portal.models import Member, id_of
from portal.saml import (
    addresses,
    attributes,
    bindings,
    certificates,
    fresh_sign_in,
    incoming,
    metadata,
    name_ids,
    names,
    pages,
)
from portal.saml import requests as saml_requests
from portal.saml.refusals import Refused
from portal.saml.requests import AuthnRequest
from portal.saml.responses import Protection, SignIn, error_response, response
from portal.saml.service_providers import NAMEID_URIS, Registered, active, by_entity_id

blueprint = Blueprint("saml_sso", __name__)
blueprint.before_request(incoming.refuse_head)
PATH = metadata.SSO_PATH
REFUSED = "saml.refused"
# The portal's mark on a request it continues from the sign-in page (never the SP's: its
# signature covers only SAMLRequest, RelayState and SigAlg): the vendor the page names, checked
# against the request's own Issuer here.
VENDOR = "vendor"
SHORT_NAMEID = {uri: short for short, uri in NAMEID_URIS.items()}


@blueprint.post(PATH)
async def sso_by_post() -> ResponseReturnValue:
    return await incoming.post_as_get(PATH, REFUSED)


@blueprint.get(PATH)
async def sso() -> ResponseReturnValue:
    now = clock.now()
    raw_query = incoming.raw_query()
    arrival = await incoming.arrived(REFUSED)
    issuer = incoming.portal_issuer()
    async with db.transaction() as db_session:
        found = await by_entity_id(db_session, arrival.entity_id)
        try:
            registered = _active(found, arrival.entity_id)
            authn = saml_requests.authn_request(
                arrival.root,
                arrival.received,
                registered.sp,
                destination=issuer + PATH,
                now=now,
                signature_required=False,
            )
            # Defence in depth: never posted to an address off the vendor's domains today.
            await addresses.check_use(db_session, registered.vendor, authn.consumer.location)
        except Refused as refusal:
            await record_refusal(db_session, found.vendor.key if found else None, refusal)
            refused = refusal
        else:
            request_ = Request(registered, authn, arrival.relay_state, raw_query, issuer, now)
            return await answer(db_session, request_)
    raise refused


def _active(found: Registered | None, entity_id: str) -> Registered:
    """The SP registered for this entityID, when active (service_providers.active); a
    continuation that names another vendor than the request's Issuer is refused too."""
    found = active(found, entity_id)
    named = request.args.get(VENDOR)
    if named is not None and named != found.vendor.key:
        raise Refused("vendor", "The request does not come from the site it names.")
    return found


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
    name_id = await name_ids.name_id(
        db_session, vendor.key, member, nameid_format, settings=settings.current()
    )
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
    await name_ids.remember(
        db_session, id_of(portal_session), id_of(vendor), name_id, nameid_format
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
    fields = {"SAMLResponse": saml_response}
    if req.relay_state is not None:
        fields["RelayState"] = req.relay_state
    return await pages.post_form(
        db_session, req.vendor, req.authn.consumer.location, fields, signed_in=signed_in
    )


async def record_refusal(
    db_session: AsyncSession, vendor_key: str | None, refusal: Refused
) -> None:
    await incoming.record_refusal(db_session, REFUSED, vendor_key, refusal)

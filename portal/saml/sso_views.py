"""Single sign-on (SAML Profiles §4.1, Web Browser SSO, SP-initiated): a vendor's AuthnRequest at
/saml/sso, by HTTP-Redirect or HTTP-POST, answered with a Response the member's browser posts to
the vendor's registered AssertionConsumerService.

The member's portal session is the one every front end shares: a member without one signs in on
the shared sign-in page, which continues the request here afterwards (`next`), where it is
checked again like any other. A request the portal cannot use — an unknown SP, a disabled vendor,
an AssertionConsumerService not registered for it, a bad signature — is a 400 page in plain
words, and nothing is ever posted to an address the vendor did not register. A request good
enough to answer but not to grant (IsPassive with nobody signed in, a NameID format the vendor
may not have) is answered at its registered ACS with a status saying why; a member the vendor's
access rule refuses sees the refusal page, or when the request is passive the ACS gets
RequestDenied (sign_ins.py)."""

from datetime import datetime
from urllib.parse import urlencode

from quart import Blueprint, redirect, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, clock, continuations, db, errors, session_cookies, settings
from portal.continuations import FRESH_SIGN_IN
from portal.saml import addresses, authn_context, fresh_sign_in, incoming, metadata, names, sign_ins
from portal.saml import requests as saml_requests
from portal.saml.refusals import Refused
from portal.saml.requests import AuthnRequest
from portal.saml.service_providers import Registered, active, by_entity_id

blueprint = Blueprint("saml_sso", __name__)
blueprint.before_request(incoming.refuse_head)
PATH = metadata.SSO_PATH
REFUSED = sign_ins.REFUSED
# The portal's mark on a request it continues from the sign-in page (never the SP's: its
# signature covers only SAMLRequest, RelayState and SigAlg): the vendor the page names, checked
# against the request's own Issuer here.
VENDOR = "vendor"


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
                signature_required=settings.current().saml_want_authn_requests_signed,
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
        self.answer = sign_ins.Answer(
            registered,
            authn.consumer.location,
            authn.id,
            relay_state,
            issuer,
            now,
            passive=authn.is_passive,
        )

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
        return await sign_ins.status_page(
            db_session, req.answer, names.REQUESTER, names.INVALID_NAMEID_POLICY, signed_in=False
        )
    if not authn_context.satisfied(req.authn.requested_context):
        await record_refusal(db_session, req.vendor.key, Refused("no_authn_context", ""))
        return await sign_ins.status_page(
            db_session, req.answer, names.RESPONDER, names.NO_AUTHN_CONTEXT, signed_in=False
        )
    portal_session = await session_cookies.current(db_session, "member")
    member = await sign_ins.member_of(db_session, portal_session)
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
            return await sign_ins.status_page(
                db_session, req.answer, names.RESPONDER, names.NO_PASSIVE, signed_in=False
            )
        continuation = req.continuation(fresh=req.authn.force_authn)
        if continuations.checked(continuation) is None:  # the sign-in page could not come back
            refusal = Refused(
                "too_large_to_continue",
                "The site's request is too large to carry through the sign-in page (over 8 KB "
                "once encoded). Ask the site's developers to send a smaller one: without "
                "extensions, or signed by HTTP-Redirect, which carries no certificate.",
            )
            await record_refusal(db_session, req.vendor.key, refusal)
            return await errors.error_response(refusal.status, str(refusal))
        return redirect("/sign-in?" + urlencode({"next": continuation}), 303)
    return await sign_ins.signed_in(db_session, req.answer, portal_session, member, nameid_format)


def allowed_nameid_format(req: Request) -> str | None:
    """The NameID format the response uses: the vendor's; a NameIDPolicy asking for another is
    refused (Core §3.4.1.1: InvalidNameIDPolicy), unspecified meaning any."""
    asked, own = req.authn.nameid_format, req.registered.nameid_format
    return own if asked in (None, names.UNSPECIFIED, own) else None


async def record_refusal(
    db_session: AsyncSession, vendor_key: str | None, refusal: Refused
) -> None:
    await incoming.record_refusal(db_session, REFUSED, vendor_key, refusal)

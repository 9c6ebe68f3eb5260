"""Single logout started by a vendor (SAML Profiles §4.4, SP-initiated): its LogoutRequest at
/saml/slo, by HTTP-Redirect or HTTP-POST, always signed (it ends the member's portal session, so
no other site may forge one). The browser's portal session ends through the same sign-out as
every front end's (session_cookies.sign_out_member: every other vendor the session reached, of
any protocol, is told), when it is the one the request names — its member's NameID at this
vendor, and its sid among the SessionIndex values if any are given. A request naming another
member or session ends nothing (a replayed request names a session that has ended already).
The LogoutResponse goes back to the vendor's registered SingleLogoutService — after the browser
has been led through the other SAML vendors told through it (front_channel.py), when there are
any. The chain's steps are here too: the SPs' LogoutResponses, which arrive at /saml/slo, and
/saml/slo/continue, which sends the browser to the next SP or to where the sign-out ends."""

from dataclasses import replace

from quart import Blueprint, Response, redirect, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import clock, db, members, session_cookies, settings
from portal.auth.models import AuthSession
from portal.saml import (
    addresses,
    bindings,
    certificates,
    front_channel,
    incoming,
    logout,
    metadata,
    name_ids,
    names,
    pages,
)
from portal.saml import requests as saml_requests
from portal.saml.refusals import Refused
from portal.saml.requests import LogoutRequest
from portal.saml.service_providers import NAMEID_URIS, Registered, active, by_entity_id
from portal.saml.signatures import sign_redirect
from portal.saml.sp_metadata import Endpoint
from portal.session_cookies import Chain

blueprint = Blueprint("saml_slo", __name__)
blueprint.before_request(incoming.refuse_head)
PATH = metadata.SLO_PATH
REFUSED = "saml.logout_refused"


@blueprint.post(PATH)
async def slo_by_post() -> ResponseReturnValue:
    return await incoming.post_as_get(PATH, REFUSED)


@blueprint.get(PATH)
async def slo() -> ResponseReturnValue:
    if "SAMLResponse" in request.args:  # an SP answering the portal's own LogoutRequest
        return await answered()
    now = clock.now()
    arrival = await incoming.arrived(REFUSED)
    issuer = incoming.portal_issuer()
    async with db.transaction() as db_session:
        found = await by_entity_id(db_session, arrival.entity_id)
        try:
            registered = active(found, arrival.entity_id)
            asked = saml_requests.logout_request(
                arrival.root, arrival.received, registered.sp, destination=issuer + PATH, now=now
            )
            if service := _logout_service(registered):  # defence in depth, as at /saml/sso
                destination = service.response_location or service.location
                await addresses.check_use(db_session, registered.vendor, destination)
        except Refused as refusal:
            vendor_key = found.vendor.key if found else None
            await incoming.record_refusal(db_session, REFUSED, vendor_key, refusal)
            refused = refusal
        else:
            await end_the_named_session(db_session, registered, asked)
            # The other SAML vendors told through the browser first; this answer comes last.
            final = {"vendor": registered.vendor.id, "in_response_to": asked.id}
            chain = session_cookies.through_the_browser(
                {"saml": final | {"relay_state": arrival.relay_state}}
            )
            if chain is not None:
                return redirect(chain, 303)
            return await respond(db_session, registered, asked.id, arrival.relay_state, issuer)
    raise refused


@blueprint.get(front_channel.CONTINUE_PATH)
async def lead_on() -> ResponseReturnValue:
    """The chain's next step: the next SP, or where the sign-out ends. A browser back here
    without the SP's answer (it went back, or the SP sent it on without one) leaves that SP
    among the sites that may still have the member signed in."""
    chain = session_cookies.sign_out_chain()
    if chain is None or chain.final is None:
        raise Refused(
            "no_sign_out", "No sign-out is under way in this browser: there is nothing to continue."
        )
    async with db.transaction() as db_session:
        if chain.in_flight is not None:
            vendor_id = chain.in_flight[0]
            await front_channel.record(
                db_session, vendor_id, session_id=chain.session_id, reason="no_answer", status=None
            )
            chain = chain.answered(vendor_id, False)
        return await _next(db_session, chain, incoming.portal_issuer())


async def answered() -> ResponseReturnValue:
    """An SP's LogoutResponse to the LogoutRequest the chain sent it: checked (front_channel.py);
    whatever it says, the chain goes on, and only a valid Success counts as signed out."""
    chain = session_cookies.sign_out_chain()
    if chain is None or chain.in_flight is None:
        refusal = Refused(
            "unexpected_response",
            "This sign-out answer was not expected: no sign-out in this browser is waiting for "
            "one. Nothing was changed.",
        )
        async with db.transaction() as db_session:
            await incoming.record_refusal(db_session, REFUSED, None, refusal)
        raise refusal
    vendor_id, request_id = chain.in_flight
    issuer = incoming.portal_issuer()
    async with db.transaction() as db_session:
        reason, status = await front_channel.checked_answer(
            db_session, vendor_id, request_id, destination=issuer + PATH, now=clock.now()
        )
        await front_channel.record(
            db_session, vendor_id, session_id=chain.session_id, reason=reason, status=status
        )
        return await _next(db_session, chain.answered(vendor_id, reason is None), issuer)


async def _next(db_session: AsyncSession, chain: Chain, issuer: str) -> ResponseReturnValue:
    """The browser sent to the next SP that can be sent a LogoutRequest, or, with none left, to
    where the sign-out ends (the chain stays in the cookie for the signed-out page's report)."""
    now = clock.now()
    while chain.to_visit:
        vendor_id, chain = chain.to_visit[0], replace(chain, to_visit=chain.to_visit[1:])
        sent = await front_channel.logout_request(
            db_session, vendor_id, session_id=chain.session_id, issuer=issuer, now=now
        )
        if isinstance(sent, front_channel.Sent):
            session_cookies.keep_chain(replace(chain, in_flight=(vendor_id, sent.request_id)))
            return sent.response
        await front_channel.record(
            db_session, vendor_id, session_id=chain.session_id, reason=sent, status=None
        )
        chain = chain.answered(vendor_id, False)
    session_cookies.keep_chain(replace(chain, final=None))
    answering = (chain.final or {}).get("saml")
    if answering is None:
        return redirect(session_cookies.chain_ends_at(chain), 303)
    found = await front_channel.registered_sp(db_session, answering["vendor"])
    if found is None:  # the SP that began it was turned off meanwhile: the portal's own page
        return redirect("/signed-out", 303)
    partial = not all(signed_out for _, signed_out in chain.told)
    return await respond(
        db_session,
        found,
        answering["in_response_to"],
        answering["relay_state"],
        issuer,
        partial=partial,
    )


async def end_the_named_session(
    db_session: AsyncSession, registered: Registered, asked: LogoutRequest
) -> None:
    portal_session = await session_cookies.current(db_session, "member")
    if portal_session is not None and await _named(db_session, registered, asked, portal_session):
        await session_cookies.sign_out_member(
            db_session, vendor_key=registered.vendor.key, via="saml"
        )


async def _named(
    db_session: AsyncSession,
    registered: Registered,
    asked: LogoutRequest,
    portal_session: AuthSession,
) -> bool:
    """Whether the request names this session: its member, by the NameID this vendor was given
    (in the format the request says, else the vendor's), and its sid if SessionIndex is given."""
    if asked.session_indexes and portal_session.sid not in asked.session_indexes:
        return False
    if portal_session.member_id is None:
        return False
    member = await members.select_member_by_id(db_session, portal_session.member_id)
    if member is None:
        return False
    nameid_format = asked.nameid_format or registered.nameid_format
    if nameid_format not in NAMEID_URIS.values():
        return False
    expected = await name_ids.name_id(
        db_session, registered.vendor.key, member, nameid_format, settings=settings.current()
    )
    return expected is not None and expected == asked.name_id


def _logout_service(registered: Registered) -> Endpoint | None:
    """Where the LogoutResponse goes: the vendor's SingleLogoutService by HTTP-Redirect, else by
    HTTP-POST (a browser binding: the member is here)."""
    services = registered.sp.logout_services
    for binding in (names.REDIRECT, names.POST):
        for service in services:
            if service.binding == binding:
                return service
    return None


async def respond(
    db_session: AsyncSession,
    registered: Registered,
    in_response_to: str,
    relay_state: str | None,
    issuer: str,
    *,
    partial: bool = False,
) -> ResponseReturnValue:
    """The LogoutResponse to the SP's LogoutRequest `in_response_to`: PartialLogout when a site
    told through the browser did not answer that it signed the member out."""
    service = _logout_service(registered)
    if service is None:  # nowhere registered to answer: the portal's own page says it is done
        return redirect("/signed-out", 303)
    destination = service.response_location or service.location
    now = clock.now()
    current = settings.current()
    signer = await certificates.signer(db_session, issuer=issuer, now=now, settings=current)
    xml = logout.logout_response(
        idp_entity_id=metadata.entity_id(current, issuer),
        destination=destination,
        in_response_to=in_response_to,
        now=now,
        partial=partial,
        signer=None if service.binding == names.REDIRECT else signer,
    )
    if service.binding == names.REDIRECT:
        query = sign_redirect("SAMLResponse", bindings.to_redirect(xml), relay_state, signer)
        separator = "&" if "?" in destination else "?"
        return redirect(f"{destination}{separator}{query}", 303)
    fields = {"SAMLResponse": bindings.to_post(xml)}
    if relay_state is not None:
        fields["RelayState"] = relay_state
    answer: Response = await pages.post_form(
        db_session, registered.vendor, destination, fields, signed_in=False
    )
    return answer

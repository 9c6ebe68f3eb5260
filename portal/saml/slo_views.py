"""Single logout started by a vendor (SAML Profiles §4.4, SP-initiated): its LogoutRequest at
/saml/slo, by HTTP-Redirect or HTTP-POST, always signed (it ends the member's portal session, so
no other site may forge one). The browser's portal session ends through the same sign-out as
every front end's (session_cookies.sign_out_member: every other vendor the session reached, of
any protocol, is told), when it is the one the request names — its member's NameID at this
vendor, and its sid among the SessionIndex values if any are given. A request naming another
member or session ends nothing (a replayed request names a session that has ended already).
The LogoutResponse goes back to the vendor's registered SingleLogoutService."""

from quart import Blueprint, Response, redirect
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import clock, db, members, session_cookies, settings
from portal.auth.models import AuthSession
from portal.saml import (
    addresses,
    bindings,
    certificates,
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

blueprint = Blueprint("saml_slo", __name__)
blueprint.before_request(incoming.refuse_head)
PATH = metadata.SLO_PATH
REFUSED = "saml.logout_refused"


@blueprint.post(PATH)
async def slo_by_post() -> ResponseReturnValue:
    return await incoming.post_as_get(PATH, REFUSED)


@blueprint.get(PATH)
async def slo() -> ResponseReturnValue:
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
            return await respond(db_session, registered, asked, arrival.relay_state, issuer)
    raise refused


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
    asked: LogoutRequest,
    relay_state: str | None,
    issuer: str,
) -> ResponseReturnValue:
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
        in_response_to=asked.id,
        now=now,
        partial=False,
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

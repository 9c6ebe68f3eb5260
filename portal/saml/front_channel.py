"""Telling SAML vendors of a sign-out through the member's browser (SAML Profiles §4.4, the front
channel): when a member's portal session ends in this browser — the portal's own sign-out, an
Enhanced vendor's, OpenID Connect's end_session, another SP's LogoutRequest at /saml/slo — the
browser is sent, by top-level navigation (frames lose the SP's cookies in today's browsers),
through each SAML vendor the session reached whose metadata offers an HTTP-Redirect or HTTP-POST
SingleLogoutService and no SOAP one (those are told by the back channel: soap_logout.py). Each
gets a signed LogoutRequest naming the member as it was told and the session by its sid; it
answers with a LogoutResponse at /saml/slo, and the browser goes on to the next, then to where
the sign-out would have ended anyway.

Where the browser is in the chain is the signed session cookie's (session_cookies.Chain); the
views are slo_views.py's. An SP that never answers stalls the chain at that SP: the browser stays
there (the standard's limit, docs/saml.md)."""

from dataclasses import dataclass
from datetime import datetime

from quart import redirect, request
from quart.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, not_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, session_vendors, settings
from portal.auth import sessions
from portal.models import Vendor
from portal.reasons import UNKNOWN_VENDOR
from portal.saml import (
    addresses,
    bindings,
    builders,
    certificates,
    incoming,
    logout,
    metadata,
    name_ids,
    names,
    pages,
)
from portal.saml import requests as saml_requests
from portal.saml.models import SamlServiceProvider
from portal.saml.refusals import Refused
from portal.saml.service_providers import Registered, registered
from portal.saml.signatures import sign_redirect
from portal.saml.sp_metadata import Endpoint, ServiceProvider

CONTINUE_PATH = metadata.SLO_PATH + "/continue"  # where the browser is led on to the next SP
EVENT = "saml.logout_through_browser"


def _offers(binding: str) -> ColumnElement[bool]:
    return col(SamlServiceProvider.logout_services).contains([{"binding": binding}])


async def vendors_to_visit(db: AsyncSession, session_id: int, begun_at: str | None) -> list[int]:
    """The session's SAML vendors told through the browser, by name: a Redirect or POST
    SingleLogoutService and no SOAP one; not the one the sign-out began at (it signed out)."""
    query = (
        select(SamlServiceProvider.vendor_id)
        .join(Vendor, col(Vendor.id) == col(SamlServiceProvider.vendor_id))
        .where(
            col(SamlServiceProvider.vendor_id).in_(session_vendors.reached_vendor_ids(session_id)),
            or_(_offers(names.REDIRECT), _offers(names.POST)),
            not_(_offers(names.SOAP)),
            col(Vendor.protocol) == "saml",
        )
        .order_by(col(Vendor.name))
    )
    if begun_at is not None:
        query = query.where(col(Vendor.key) != begun_at)
    return list(await db.exec(query))


def front_channel_service(sp: ServiceProvider) -> Endpoint | None:
    """Where the SP takes a LogoutRequest through the browser: by HTTP-Redirect (signed in the
    query string, no page of the portal's in between) where it offers it, else by HTTP-POST;
    None when it takes SOAP (the back channel tells it) or has no SingleLogoutService."""
    if any(service.binding == names.SOAP for service in sp.logout_services):
        return None
    for binding in (names.REDIRECT, names.POST):
        for service in sp.logout_services:
            if service.binding == binding:
                return service
    return None


@dataclass(frozen=True)
class Sent:
    """A LogoutRequest on its way through the browser: its ID (the chain awaits its answer) and
    the answer that sends the browser with it."""

    request_id: str
    response: ResponseReturnValue


async def logout_request(
    db: AsyncSession, vendor_id: int, *, session_id: int, issuer: str, now: datetime
) -> Sent | str:
    """The browser sent to the vendor's SP with a signed LogoutRequest for the ended session, or
    why it cannot be (a reason for the audit log): the vendor is gone or off, its metadata no
    longer offers a front-channel SingleLogoutService, the member has no value for its NameID."""
    found = await registered_sp(db, vendor_id)
    service = None if found is None else front_channel_service(found.sp)
    ended = await sessions.select_member_session(db, session_id)
    if found is None or service is None or ended is None:
        return "no_logout_service"
    try:  # the member's browser goes only to an address on the vendor's domains today
        await addresses.check_use(db, found.vendor, service.location)
    except Refused as refusal:
        return refusal.reason
    current = settings.current()
    name_id, nameid_format = await name_ids.as_sent(
        db,
        session_id=session_id,
        vendor_id=vendor_id,
        vendor_key=found.vendor.key,
        member_id=ended.member_id,
        nameid_format=found.nameid_format,
        settings=current,
    )
    if name_id is None:
        return "no_nameid"
    signer = await certificates.signer(db, issuer=issuer, now=now, settings=current)
    request_id = builders.new_id()
    by_redirect = service.binding == names.REDIRECT
    xml = logout.logout_request(
        idp_entity_id=metadata.entity_id(current, issuer),
        sp_entity_id=found.sp.entity_id,
        destination=service.location,
        name_id=name_id,
        nameid_format=nameid_format,
        session_index=ended.sid,
        now=now,
        signer=None if by_redirect else signer,  # a redirect signs the query string instead
        request_id=request_id,
    )
    if by_redirect:
        query = sign_redirect("SAMLRequest", bindings.to_redirect(xml), None, signer)
        separator = "&" if "?" in service.location else "?"
        return Sent(request_id, redirect(f"{service.location}{separator}{query}", 303))
    fields = {"SAMLRequest": bindings.to_post(xml)}
    page = await pages.post_form(
        db,
        found.vendor,
        service.location,
        fields,
        signed_in=False,
        template="saml/post_sign_out.html",
    )
    return Sent(request_id, page)


async def registered_sp(db: AsyncSession, vendor_id: int) -> Registered | None:
    """The vendor's SP, while the vendor is on and signs in with SAML."""
    row = await db.get(SamlServiceProvider, vendor_id)
    vendor = await db.get(Vendor, vendor_id)
    if row is None or vendor is None or not vendor.enabled or vendor.protocol != "saml":
        return None
    return registered(vendor, row)


async def checked_answer(
    db: AsyncSession, vendor_id: int, request_id: str, *, destination: str, now: datetime
) -> tuple[str | None, str | None]:
    """The SP's LogoutResponse on this request, checked as a request is (the hardened parser;
    Issuer its entityID, InResponseTo the request in flight, its signature against its registered
    certificates, Destination the portal's /saml/slo): (None, its status) when it says Success;
    else (why not, its status if it has one), the reason as the audit log names it."""
    found = await registered_sp(db, vendor_id)
    try:
        if found is None:
            raise Refused(UNKNOWN_VENDOR, "The site is no longer an active SAML site.")
        arrival = incoming.read_arrival("SAMLResponse")
        answer = saml_requests.logout_response(
            arrival.root,
            arrival.received,
            found.sp,
            destination=destination,
            now=now,
            in_response_to=request_id,
        )
    except Refused as refusal:
        return refusal.reason, None
    if answer.status != names.SUCCESS:
        return "not_signed_out", answer.status
    return None, answer.status


async def record(
    db: AsyncSession, vendor_id: int, *, session_id: int, reason: str | None, status: str | None
) -> None:
    """The vendor told through the browser, in the audit log: signed out (its LogoutResponse
    said Success), or not (`reason`: why the member may still be signed in there)."""
    vendor = await db.get(Vendor, vendor_id)
    ended = await sessions.select_member_session(db, session_id)
    details: dict[str, str] = {"reason": reason} if reason else {}
    if status and status != names.SUCCESS:
        details["status"] = status.rsplit(":", 1)[-1]
    await audit.record(
        db,
        EVENT,
        "success" if reason is None else "failure",
        vendor_key=None if vendor is None else vendor.key,
        member_id=None if ended is None else ended.member_id,
        client_address=request.remote_addr,
        **details,
    )

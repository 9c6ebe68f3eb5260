"""Telling SAML vendors of a sign-out by the back channel (SAML Profiles §4.4, IdP-initiated, over
the SOAP binding of Bindings §3.2): when a member's portal session ends — anywhere, however
(portal/auth/sessions.end calls `session_ended`, the front end's hook, in the ending
transaction) — every SAML vendor the session reached whose metadata offers a SingleLogoutService
with the SOAP binding gets one outbox row of kind `saml_logout`; the outbox's worker POSTs each a
signed LogoutRequest naming the member by its NameID at that vendor and the session by its
SessionIndex (the sid the assertion carried).

Delivery is the back-channel logout notices' (portal/logout_notices.py), not a copy of it: the
same policy (timeout, retry window and pauses, lease), the same client (public addresses only,
no redirect followed), the same rule of what is retried (`logout_notices.call`) and the same
audit of the final outcome, under this kind's own event. Only the message differs. Vendors with
only a front-channel (Redirect or POST) SingleLogoutService are told through the member's browser
instead, when the session ends there (front_channel.py)."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import literal, text
from sqlalchemy import select as columns_of  # sqlmodel's select takes at most four
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import logout_notices, session_vendors
from portal.outbox.models import OutboxItem
from portal.outbox.queue import Claimed, Kind, Outcome
from portal.saml import bindings, certificates, logout, metadata, name_ids, names, xml_parser
from portal.saml.models import SamlServiceProvider
from portal.saml.refusals import Refused
from portal.saml.service_providers import NAMEID_URIS

OUTBOX_KIND = "saml_logout"
EVENT = "saml.logout_notified"
# SOAP 1.1 (Bindings §3.2.3.1): text/xml, and the SOAPAction the binding recommends.
HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    "SOAPAction": "http://www.oasis-open.org/committees/security",
}

# Where the SP's answer says how it went: its LogoutResponse's top-level StatusCode.
STATUS_CODE = "/".join(
    f"{{{namespace}}}{name}"
    for namespace, name in (
        (names.SOAP_ENVELOPE, "Body"),
        (names.SAMLP, "LogoutResponse"),
        (names.SAMLP, "Status"),
        (names.SAMLP, "StatusCode"),
    )
)

# What the LogoutRequest needs of a claimed row: the session, and the vendor's SP as it is now.
CONTEXT = """
SELECT s.sid, s.member_id, v.key AS vendor_key, p.entity_id, p.logout_services, p.nameid_format
FROM auth_session s, vendor v JOIN saml_service_provider p ON p.vendor_id = v.id
WHERE s.id = :session_id AND v.id = :vendor_id
"""


async def session_ended(db: AsyncSession, session_id: int, *, now: datetime, reason: str) -> None:
    """One row per reached vendor whose SP offers SOAP single logout, in the caller's
    transaction (the one that ends the session); the unique (kind, session, vendor) makes a
    second call write nothing."""
    offers_soap = col(SamlServiceProvider.logout_services).contains([{"binding": names.SOAP}])
    reached = col(SamlServiceProvider.vendor_id).in_(session_vendors.reached_vendor_ids(session_id))
    rows = columns_of(
        literal(OUTBOX_KIND),
        literal(session_id),
        col(SamlServiceProvider.vendor_id),
        literal(now),
        literal(now),
    ).where(reached, offers_soap)
    columns = ["kind", "session_id", "vendor_id", "created_at", "next_attempt_at"]
    await db.exec(
        insert(OutboxItem)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["kind", "session_id", "vendor_id"])
    )


def soap_service(logout_services: list[dict[str, Any]]) -> str | None:
    """The vendor's SingleLogoutService with the SOAP binding (stored as sp_metadata read it)."""
    for service in logout_services:
        if service.get("binding") == names.SOAP:
            return str(service["location"])
    return None


@dataclass(frozen=True)
class Call:
    url: str | None
    envelope: bytes = field(default=b"", repr=False)
    problem: str | None = None  # why it cannot be sent at all, in staff's words


def kind(policy: logout_notices.Policy, client: httpx.AsyncClient) -> Kind[Call]:
    async def prepare(db: AsyncSession, row: Claimed, now: datetime) -> Call:
        return await logout_call(db, row, policy, now=now)

    async def send(call: Call) -> Outcome:
        if call.url is None:  # nowhere to send it: final, in staff's words
            return Outcome(call.problem or "nothing to send", status=410, retry=False)
        return await logout_notices.call(
            client, call.url, policy.timeout, read=answered, content=call.envelope, headers=HEADERS
        )

    async def finished(db: AsyncSession, row: Claimed, outcome: Outcome) -> None:
        await logout_notices.audit_outcome(db, row, outcome, EVENT)

    return Kind(OUTBOX_KIND, policy.retry(), prepare, send, finished, written="the sign-out")


async def logout_call(
    db: AsyncSession, row: Claimed, policy: logout_notices.Policy, *, now: datetime
) -> Call:
    """The SOAP envelope with the signed LogoutRequest, or why there is none: the vendor's
    metadata no longer offers SOAP, or the member has no value for its NameID format."""
    params = {"session_id": row.session_id, "vendor_id": row.vendor_id}
    found = (await db.exec(text(CONTEXT).bindparams(**params))).first()  # type: ignore[call-overload]
    url = None if found is None else soap_service(found.logout_services)
    if found is None or url is None:
        return Call(None, problem="the vendor's SAML metadata no longer offers SOAP single logout")
    name_id, nameid_format = await name_ids.as_sent(
        db,
        session_id=row.session_id or 0,
        vendor_id=row.vendor_id or 0,
        vendor_key=found.vendor_key,
        member_id=found.member_id,
        nameid_format=NAMEID_URIS[found.nameid_format],
        settings=policy.settings,
    )
    if name_id is None:
        return Call(None, problem="the member has no value for the NameID this vendor is sent")
    signer = await certificates.signer(db, issuer=policy.issuer, now=now, settings=policy.settings)
    xml = logout.logout_request(
        idp_entity_id=metadata.entity_id(policy.settings, policy.issuer),
        sp_entity_id=found.entity_id,
        destination=url,
        name_id=name_id,
        nameid_format=nameid_format,
        session_index=found.sid,
        now=now,
        signer=signer,  # signed in the XML: the SOAP binding has no query string to sign
    )
    return Call(url, bindings.to_soap(xml))


def answered(response: httpx.Response) -> Outcome:
    """The SP's answer (Bindings §3.2.3.3): its LogoutResponse in the SOAP Body. Success is
    done; Responder (its own trouble) may pass and is tried again; any other status, or an
    answer that is no LogoutResponse, is the SP refusing, which the same request would meet
    again. Read with the hardened parser; its signature is not checked: the portal acts on it
    only as a record for staff, and the channel is the SP's own TLS address."""
    status = response.status_code
    not_one = "the vendor's answer is not a SAML LogoutResponse"
    try:
        envelope = xml_parser.parse(response.content, what="SOAP answer")
    except Refused as refusal:
        return Outcome(f"{not_one} ({refusal})", status=status, retry=False)
    found = envelope.find(STATUS_CODE)
    if envelope.tag != f"{{{names.SOAP_ENVELOPE}}}Envelope" or found is None:
        return Outcome(not_one, status=status, retry=False)
    code = found.get("Value", "")
    if code == names.SUCCESS:
        return Outcome(status=status)
    short = code.rsplit(":", 1)[-1] or "no status"
    error = f"the vendor answered that it could not sign the member out ({short})"
    return Outcome(error, status=status, retry=code == names.RESPONDER)

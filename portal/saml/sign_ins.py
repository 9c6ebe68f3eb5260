"""One place for a sign-in at a SAML vendor, whoever started it — the vendor's AuthnRequest
(sso_views.py, SP-initiated) or the member's click on "My sites" (start_views.py, IdP-initiated):
the member's NameID and attributes, the Response (responses.py) signed and, where the vendor
asks, encrypted; the session's record of the vendor and the NameID it was sent; the audit event;
and the page that posts it to the vendor's registered AssertionConsumerService. A Response that
grants nothing (NoPassive, InvalidNameIDPolicy, RequestDenied) goes the same way.

The vendor's access rule (portal/access_rules.py) is decided in the statement that records the
sign-in (ISSUE): only when it wrote is the Response built. A member it refuses sees the refusal
page (access_refusals.py), whose way back posts the vendor a RequestDenied Response; a passive
request gets that Response at once, and never a page."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quart import Response, request
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import access_refusals, access_rules, audit, good_standing, members, settings, vendors
from portal.auth.models import AuthSession
from portal.models import Member, Vendor, id_of
from portal.saml import (
    attributes,
    bindings,
    certificates,
    incoming,
    metadata,
    name_ids,
    names,
    pages,
)
from portal.saml.names import REQUEST_DENIED, RESPONDER
from portal.saml.refusals import Refused
from portal.saml.responses import Protection, SignIn, error_response, response
from portal.saml.service_providers import NAMEID_URIS, Registered
from portal.urls import form_action_sources

REFUSED = "saml.refused"
SHORT_NAMEID = {uri: short for short, uri in NAMEID_URIS.items()}

# The sign-in recorded — the session's record of the vendor (portal/session_vendors.py), the
# NameID its assertion carries (name_ids.py), the saml.signed_in event — in one statement, and
# only when the vendor's access rule lets the member in, read as the statement runs: a rule
# staff change and a sign-in cannot interleave, and a member who lapsed is refused at once.
ISSUE = f"""
WITH allowed AS (
    SELECT m.id FROM member m JOIN vendor v ON v.id = :vendor_id
    WHERE m.id = :member_id
      AND {access_rules.allows_sql(vendor="v", member="m", paid_through_from=":paid_through_from")}
), reached AS (
    INSERT INTO session_vendor (session_id, vendor_id, front_end, first_at, last_at)
    SELECT :session_id, :vendor_id, 'saml', :now, :now FROM allowed
    ON CONFLICT (session_id, vendor_id, front_end)
    DO UPDATE SET last_at = GREATEST(session_vendor.last_at, EXCLUDED.last_at)
), named AS (
    INSERT INTO saml_session_name_id (session_id, vendor_id, name_id, nameid_format)
    SELECT :session_id, :vendor_id, :name_id, :nameid_format FROM allowed
    ON CONFLICT (session_id, vendor_id)
    DO UPDATE SET name_id = EXCLUDED.name_id, nameid_format = EXCLUDED.nameid_format
)
INSERT INTO audit_event
    (event, outcome, vendor_key, member_id, client_address, details, request_id)
SELECT :event, :outcome, :vendor_key, allowed.id, :client_address, CAST(:details AS jsonb),
       :request_id
FROM allowed
RETURNING id
"""  # noqa: S608 - built from constant SQL (access_rules.ALLOWS); every value is a parameter


@dataclass(frozen=True)
class Answer:
    """Where a Response goes, and what it answers."""

    registered: Registered
    acs_url: str  # one of the vendor's registered AssertionConsumerServices
    in_response_to: str | None  # the AuthnRequest's ID; None: unsolicited (IdP-initiated)
    relay_state: str | None
    issuer: str  # the portal's issuer, as this request reached it
    now: datetime
    passive: bool = False  # the AuthnRequest's IsPassive: never a page of the portal's own

    @property
    def vendor(self) -> Vendor:
        return self.registered.vendor

    @property
    def entity_id(self) -> str:
        return metadata.entity_id(settings.current(), self.issuer)


async def member_of(db_session: AsyncSession, portal_session: AuthSession | None) -> Member | None:
    """The member signed in with `portal_session`, if any (a staff session is no member's)."""
    if portal_session is None or portal_session.member_id is None:
        return None
    return await members.select_member_by_id(db_session, portal_session.member_id)


async def signed_in(
    db_session: AsyncSession,
    to: Answer,
    portal_session: AuthSession,
    member: Member,
    nameid_format: str,
) -> Response:
    """The member signed in to the vendor: the signed Response, recorded and audited, posted."""
    vendor, sp = to.vendor, to.registered.sp
    name_id = await name_ids.name_id(
        db_session, vendor.key, member, nameid_format, settings=settings.current()
    )
    if name_id is None:
        await incoming.record_refusal(db_session, REFUSED, vendor.key, Refused("no_email", ""))
        return await status_page(
            db_session, to, names.RESPONDER, names.INVALID_NAMEID_POLICY, signed_in=False
        )
    if portal_session.created_at is None:
        raise ValueError("a portal session has its sign-in time")
    protection = _protection(to.registered)
    if not await _recorded(db_session, to, portal_session, member, name_id, nameid_format):
        return await refused(db_session, to, id_of(member))
    selection = [(c.field, c.output) for c in await vendors.select_fields(db_session, vendor)]
    found = attributes.of_member(
        member,
        selection,
        good_standing.terms(settings.current(), to.now),
        name_format=to.registered.attribute_name_format,
    )
    sign_in = SignIn(
        idp_entity_id=to.entity_id,
        sp_entity_id=sp.entity_id,
        acs_url=to.acs_url,
        in_response_to=to.in_response_to,
        name_id=name_id,
        nameid_format=nameid_format,
        session_index=portal_session.sid,
        authn_instant=portal_session.created_at,
        attributes=found,
    )
    signer = await certificates.signer(
        db_session, issuer=to.issuer, now=to.now, settings=settings.current()
    )
    xml = response(sign_in, now=to.now, signer=signer, protection=protection)
    return await post_page(db_session, to, _fields(to, bindings.to_post(xml)), signed_in=True)


async def _recorded(
    db_session: AsyncSession,
    to: Answer,
    portal_session: AuthSession,
    member: Member,
    name_id: str,
    nameid_format: str,
) -> bool:
    """ISSUE: the sign-in recorded and audited, when the vendor's rule lets the member in."""
    started_here: dict[str, Any] = {"from_my_sites": True} if to.in_response_to is None else {}
    event = audit.checked(
        "saml.signed_in",
        vendor_key=to.vendor.key,
        member_id=member.id,
        client_address=request.remote_addr,
        nameid_format=SHORT_NAMEID[nameid_format],
        encrypted=to.registered.encrypt_assertions,
        **started_here,
    )
    terms = good_standing.terms(settings.current(), to.now)
    statement = text(ISSUE).bindparams(
        vendor_id=id_of(to.vendor),
        member_id=id_of(member),
        session_id=id_of(portal_session),
        paid_through_from=terms.earliest_paid_through,
        now=to.now,
        name_id=name_id,
        nameid_format=nameid_format,
        event=event.event,
        outcome=event.outcome,
        vendor_key=event.vendor_key,
        client_address=event.client_address,
        details=json.dumps(event.details),
        request_id=event.request_id,
    )
    wrote = (await db_session.exec(statement)).first() is not None  # type: ignore[call-overload]
    if wrote:
        audit.counted(event)
    return wrote


async def refused(db_session: AsyncSession, to: Answer, member_id: int) -> Response:
    """The member refused by the vendor's access rule, audited: a passive request is answered
    RequestDenied at the ACS; otherwise the refusal page, whose way back posts that same Response
    to the vendor (SP-initiated) or links to the vendor's start page (from My sites: there was no
    request to answer)."""
    vendor = to.vendor
    decision = await access_refusals.decision_for(db_session, vendor, member_id, now=to.now)
    await access_refusals.record(
        db_session,
        vendor,
        member_id,
        decision,
        front_end="saml",
        client_address=request.remote_addr,
        passive=to.passive,
    )
    if to.in_response_to is None:
        return await access_refusals.page(vendor, decision, back_url=vendor.start_url)
    fields = await _status_fields(db_session, to, RESPONDER, REQUEST_DENIED)
    if to.passive:  # Core §3.4.1: never a page of the IdP's own
        return await post_page(db_session, to, fields, signed_in=False)
    # The back form posts only to the ACS the request named, already held to its domains.
    return await access_refusals.page(
        vendor,
        decision,
        back_url=to.acs_url,
        back_fields=fields,
        form_action=[form_action_sources(to.acs_url, ())[0]],
    )


def _protection(registered: Registered) -> Protection:
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
    db_session: AsyncSession, to: Answer, code: str, second_level: str, *, signed_in: bool
) -> Response:
    """A Response with no assertion, saying why (NoPassive, InvalidNameIDPolicy), posted to the
    registered ACS."""
    fields = await _status_fields(db_session, to, code, second_level)
    return await post_page(db_session, to, fields, signed_in=signed_in)


async def _status_fields(
    db_session: AsyncSession, to: Answer, code: str, second_level: str
) -> dict[str, str]:
    """The fields that post a Response with no assertion (SAMLResponse, and RelayState)."""
    signer = await certificates.signer(
        db_session, issuer=to.issuer, now=to.now, settings=settings.current()
    )
    xml = error_response(
        idp_entity_id=to.entity_id,
        acs_url=to.acs_url,
        in_response_to=to.in_response_to,
        now=to.now,
        code=code,
        second_level=second_level,
        signer=signer,
    )
    return _fields(to, bindings.to_post(xml))


def _fields(to: Answer, saml_response: str) -> dict[str, str]:
    fields = {"SAMLResponse": saml_response}
    if to.relay_state is not None:
        fields["RelayState"] = to.relay_state
    return fields


async def post_page(
    db_session: AsyncSession, to: Answer, fields: dict[str, str], *, signed_in: bool
) -> Response:
    return await pages.post_form(db_session, to.vendor, to.acs_url, fields, signed_in=signed_in)

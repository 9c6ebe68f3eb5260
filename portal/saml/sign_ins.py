"""One place for a sign-in at a SAML vendor, whoever started it — the vendor's AuthnRequest
(sso_views.py, SP-initiated) or the member's click on "My sites" (start_views.py, IdP-initiated):
the member's NameID and attributes, the Response (responses.py) signed and, where the vendor
asks, encrypted; the session's record of the vendor and the NameID it was sent; the audit event;
and the page that posts it to the vendor's registered AssertionConsumerService. A Response that
grants nothing (NoPassive, InvalidNameIDPolicy) goes the same way."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quart import Response, request
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, good_standing, members, session_vendors, settings, vendors
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
from portal.saml.refusals import Refused
from portal.saml.responses import Protection, SignIn, error_response, response
from portal.saml.service_providers import NAMEID_URIS, Registered

REFUSED = "saml.refused"
SHORT_NAMEID = {uri: short for short, uri in NAMEID_URIS.items()}


@dataclass(frozen=True)
class Answer:
    """Where a Response goes, and what it answers."""

    registered: Registered
    acs_url: str  # one of the vendor's registered AssertionConsumerServices
    in_response_to: str | None  # the AuthnRequest's ID; None: unsolicited (IdP-initiated)
    relay_state: str | None
    issuer: str  # the portal's issuer, as this request reached it
    now: datetime

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
    selection = [(c.field, c.output) for c in await vendors.select_fields(db_session, vendor)]
    found = attributes.of_member(
        member,
        selection,
        good_standing.terms(settings.current(), to.now),
        name_format=to.registered.attribute_name_format,
    )
    if portal_session.created_at is None:
        raise ValueError("a portal session has its sign-in time")
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
    xml = response(sign_in, now=to.now, signer=signer, protection=_protection(to.registered))
    await session_vendors.record(
        db_session, id_of(portal_session), id_of(vendor), "saml", now=to.now
    )
    await name_ids.remember(
        db_session, id_of(portal_session), id_of(vendor), name_id, nameid_format
    )
    started_here: dict[str, Any] = {"from_my_sites": True} if to.in_response_to is None else {}
    await audit.record(
        db_session,
        "saml.signed_in",
        vendor_key=vendor.key,
        member_id=member.id,
        client_address=request.remote_addr,
        nameid_format=SHORT_NAMEID[nameid_format],
        encrypted=to.registered.encrypt_assertions,
        **started_here,
    )
    return await post_page(db_session, to, bindings.to_post(xml), signed_in=True)


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
    return await post_page(db_session, to, bindings.to_post(xml), signed_in=signed_in)


async def post_page(
    db_session: AsyncSession, to: Answer, saml_response: str, *, signed_in: bool
) -> Response:
    fields = {"SAMLResponse": saml_response}
    if to.relay_state is not None:
        fields["RelayState"] = to.relay_state
    return await pages.post_form(db_session, to.vendor, to.acs_url, fields, signed_in=signed_in)

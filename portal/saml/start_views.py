"""Signing in from "My sites" (SAML Profiles §4.1.5, IdP-initiated): a member opens a SAML vendor
whose staff turned it on (registration.py; off by default), and the portal posts the vendor an
unsolicited Response — answering no AuthnRequest, so with no InResponseTo — with the configured
RelayState, to the vendor's default AssertionConsumerService, built, recorded and audited as a
vendor's own request is answered (sign_ins.py).

Only a POST carrying the portal's CSRF token signs the member in (security.py's MEMBER_FORMS):
otherwise another site's page could sign the member in to a vendor they did not choose (login
CSRF). A GET — the sign-in page's continuation, or any link — only asks "Continue to …?" with
such a form. A member without a portal session signs in first and comes back here. A vendor
that is unknown, disabled, not SAML, or not opened from "My sites": a 400 page saying why; a
member the vendor's access rule refuses: the refusal page (sign_ins.py), linking back to the
vendor's start page."""

from collections.abc import Sequence
from urllib.parse import urlencode

from quart import Blueprint, redirect, render_template, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import clock, db, session_cookies
from portal.models import Vendor, id_of
from portal.reasons import UNKNOWN_VENDOR
from portal.saml import addresses, incoming, metadata, service_providers, sign_ins
from portal.saml.refusals import Refused
from portal.saml.service_providers import Registered

blueprint = Blueprint("saml_start", __name__)
blueprint.before_request(incoming.refuse_head)
PATH = metadata.START_PATH
VENDOR = "vendor"  # the vendor's key; continuations.vendor_key names it on the sign-in page
IDP_INITIATED_OFF = "idp_initiated_off"


def start_path(key: str) -> str:
    return f"{PATH}?{urlencode({VENDOR: key})}"


async def my_sites_posts(db_session: AsyncSession, vendors: Sequence[Vendor]) -> dict[int, str]:
    """The front end's "My sites" hook (portal/front_ends.py): the SAML vendors among `vendors`
    that members open from there, each with the path its tile posts to."""
    opened = await service_providers.opened_from_my_sites(db_session, [id_of(v) for v in vendors])
    return {id_of(v): start_path(v.key) for v in vendors if id_of(v) in opened}


@blueprint.get(PATH)
async def start_page() -> ResponseReturnValue:
    """ "Continue to …?": the member's own click posts the form that signs them in there."""
    key = request.args.get(VENDOR, "")[:64]
    async with db.transaction() as db_session:
        registered = await _startable(db_session, key)
        portal_session = await session_cookies.current(db_session, "member")
        member = await sign_ins.member_of(db_session, portal_session)
    if isinstance(registered, Refused):
        raise registered
    if member is None:
        return _sign_in_first(key)
    return await render_template(
        "saml/start.html", vendor=registered.vendor, action=start_path(key), member=member
    )


@blueprint.post(PATH)
async def start() -> ResponseReturnValue:
    """The member's click on "My sites" (or "Continue"): the unsolicited Response, posted."""
    now = clock.now()
    key = request.args.get(VENDOR, "")[:64]
    async with db.transaction() as db_session:
        registered = await _startable(db_session, key)
        if not isinstance(registered, Refused):
            portal_session = await session_cookies.current(db_session, "member")
            member = await sign_ins.member_of(db_session, portal_session)
            if portal_session is None or member is None:
                return _sign_in_first(key)
            to = sign_ins.Answer(
                registered,
                acs_url=registered.sp.default_consumer().location,
                in_response_to=None,  # Profiles §4.1.5: an unsolicited Response
                relay_state=registered.relay_state,
                issuer=incoming.portal_issuer(),
                now=now,
            )
            return await sign_ins.signed_in(
                db_session, to, portal_session, member, registered.nameid_format
            )
    raise registered  # after the transaction: its audit event is kept


def _sign_in_first(key: str) -> ResponseReturnValue:
    return redirect("/sign-in?" + urlencode({"next": start_path(key)}), 303)


async def _startable(db_session: AsyncSession, key: str) -> Registered | Refused:
    """The vendor's SP when members may open it from "My sites"; else the refusal, audited (the
    caller raises it once its transaction has committed the audit event)."""
    found = await service_providers.by_vendor_key(db_session, key) if key else None
    try:
        if found is None or not found.vendor.enabled or found.vendor.protocol != "saml":
            shown = key[:64] or "(none)"
            raise Refused(
                UNKNOWN_VENDOR,
                f"There is no site “{shown}” to open from here: the association has not set it "
                "up for SAML, or has turned it off.",
            )
        if not found.idp_initiated:
            raise Refused(
                IDP_INITIATED_OFF,
                f"{found.vendor.name} cannot be opened from the portal: start at "
                f"{found.vendor.name}'s own website, which signs you in with the portal.",
            )
        await addresses.check_use(db_session, found.vendor, found.sp.default_consumer().location)
    except Refused as refusal:
        vendor_key = found.vendor.key if found else None
        await incoming.record_refusal(db_session, sign_ins.REFUSED, vendor_key, refusal)
        return refusal
    return found

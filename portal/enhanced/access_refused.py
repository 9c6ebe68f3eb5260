"""A member the vendor's access rule refused at /sso/signin (protocol.md §2, outcome 5): the
statement that issues tokens decided (tokens.ISSUE); this only explains and audits, in an
ordinary transaction, since a refusal is rare (docs/layout.md, "The two hand-off paths")."""

from urllib.parse import urlsplit

from quart import Response, request

from portal import access_refusals, clock, db, vendors
from portal.access_rules import Decision
from portal.enhanced.requests import SsoRequest
from portal.models import Vendor

FRONT_END = "enhanced"


async def recorded(sso: SsoRequest, member_id: int) -> tuple[Vendor, Decision]:
    """The vendor and why its rule refuses the member now, audited as `access.refused`. The
    rule read here only explains: should it let the member in (staff changed it since the
    statement refused), the refusal stands this once as `rule_changed` — the statement is what
    decides, and a second reading must never turn a refusal into a token."""
    async with db.transaction() as s:
        vendor = await vendors.get_vendor(s, sso.vendor.key)
        decision = await access_refusals.decision_for(s, vendor, member_id, now=clock.now())
        await access_refusals.record(
            s,
            vendor,
            member_id,
            decision,
            front_end=FRONT_END,
            client_address=request.remote_addr,
            passive=sso.passive,
        )
    return vendor, decision


async def page(sso: SsoRequest, vendor: Vendor, decision: Decision) -> Response:
    """The refusal page (403), its way back leading to where the member came from."""
    return await access_refusals.page(vendor, decision, back_url=back_url(sso))


def back_url(sso: SsoRequest) -> str | None:
    """ "Back to <site>": the request's ReturnURL (already checked against the vendor's domains),
    else the vendor's sign-out page, else its first domain's root. Never its sign-in start page:
    that starts a sign-in the rule refuses again, a loop."""
    if sso.return_url:
        return sso.return_url
    if sso.vendor.signout_url:
        return sso.vendor.signout_url
    if not sso.domains:
        return None
    # The token URL's scheme: https in production (its rules), http for a development site.
    scheme = urlsplit(sso.token_url).scheme or "https"
    return f"{scheme}://{sso.domains[0]}/"

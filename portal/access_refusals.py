"""A member refused by a vendor's access rule (portal/access_rules.py): the page they see, and
the audit event staff see — for every protocol front end alike. The front end decides whether a
page is shown at all: a passive request gets its protocol's own error instead."""

from collections.abc import Mapping, Sequence
from datetime import datetime

from quart import Response, render_template
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import access_rules, audit, good_standing, settings
from portal.access_rules import Decision
from portal.models import Member, Vendor
from portal.security import content_security_policy

EVENT = "access.refused"
# The `why` of a refusal whose rule, read again to explain it, lets the member in.
RULE_CHANGED = "Refused under the rule as it stood; the rule changed since and now lets them in"


async def decision_for(
    db: AsyncSession, vendor: Vendor, member_id: int, *, now: datetime
) -> Decision:
    """Why the member may not use the vendor's site under its rule now (or that they may: the
    rule changed since the statement that refused)."""
    member = await db.get(Member, member_id)
    if member is None:
        raise LookupError(member_id)
    terms = good_standing.terms(settings.current(), now)
    return access_rules.decide(access_rules.of_vendor(vendor), member, terms)


async def record(
    db: AsyncSession,
    vendor: Vendor,
    member_id: int,
    decision: Decision,
    *,
    front_end: str,
    client_address: str | None,
    passive: bool = False,
) -> None:
    """`access.refused`, with the rule and the reason in staff's words."""
    await audit.record(
        db,
        EVENT,
        "failure",
        vendor_key=vendor.key,
        member_id=member_id,
        client_address=client_address,
        reason=decision.why_not or "rule_changed",
        rule=decision.rule.in_words(),
        why=decision.for_staff() if not decision.allowed else RULE_CHANGED,
        front_end=front_end,
        passive=passive,
    )


async def page(
    vendor: Vendor,
    decision: Decision,
    *,
    back_url: str | None = None,
    back_fields: Mapping[str, str] | None = None,
    form_action: Sequence[str] = (),
) -> Response:
    """The refusal page (403): the site's name, why, what to do (renew, when the rule asks for a
    current membership; the association's help), and a way back to the site — a link, or with
    `back_fields` a form posted to `back_url` (a protocol's answer, such as SAML's
    RequestDenied, with `form_action` the origins it may post to)."""
    current = settings.current()
    renew = current.renewal_url if decision.why_not == access_rules.NOT_IN_GOOD_STANDING else None
    body = await render_template(
        "sso/access_refused.html",
        site=vendor.name,
        why=decision.for_member(vendor.name),
        renewal_url=renew,
        back_url=back_url,
        back_fields=dict(back_fields or {}),
    )
    response = Response(body, 403)
    if form_action:
        sources = " ".join(("'self'", *form_action))
        response.headers["Content-Security-Policy"] = content_security_policy(form_action=sources)
    return response

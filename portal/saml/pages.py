"""The page that posts a SAML message to a vendor (HTTP-POST binding, Bindings §3.5.4): a form
that submits itself (static/js/autopost.js: the CSP allows no inline script), whose CSP lets it
go to `action` and nowhere else but the vendor's own domains (browsers apply form-action to the
redirects that follow the POST too)."""

from quart import Response, render_template
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import vendors
from portal.models import Vendor
from portal.security import content_security_policy
from portal.urls import form_action_sources


async def post_form(
    db_session: AsyncSession,
    vendor: Vendor,
    action: str,
    fields: dict[str, str],
    *,
    signed_in: bool,
    template: str = "saml/post.html",
) -> Response:
    """`fields` posted to `action`, a registered endpoint of `vendor`'s (`template`: the page's
    words, saml/post_sign_out.html on the way through a sign-out)."""
    page = await render_template(
        template, vendor=vendor, action=action, fields=fields, signed_in=signed_in
    )
    domains = await vendors.select_domains(db_session, vendor)
    answer = Response(page)
    answer.headers["Content-Security-Policy"] = content_security_policy(
        form_action=" ".join(form_action_sources(action, domains))
    )
    return answer

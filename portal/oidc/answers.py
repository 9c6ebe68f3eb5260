"""The authorization endpoint's answers to a vendor, at its registered redirect URI: in the
query (a 303) or as a form the browser posts (response_mode=form_post), with `iss` (RFC 9207),
so a vendor using several providers cannot be fooled about which one answered — unless staff
left it out for this vendor (its `omit_iss`: docs/oidc.md, older mod_auth_openidc)."""

from urllib.parse import urlencode

from quart import Response, redirect, render_template, request
from quart.typing import ResponseReturnValue

from portal import settings
from portal.models import Vendor
from portal.security import content_security_policy
from portal.urls import form_action_sources


def issuer() -> str:
    return settings.current().issuer_for(request.host_url.rstrip("/"))


async def to_vendor(
    vendor: Vendor,
    redirect_uri: str,
    response_mode: str,
    params: dict[str, str | None],
    domains: list[str],
) -> ResponseReturnValue:
    fields = {name: value for name, value in params.items() if value is not None}
    # Keycloak's "exclude issuer from authentication response": mod_auth_openidc 2.4 takes an
    # `iss` at its redirect URI for a sign-in started elsewhere and shows the member an error.
    if not vendor.omit_iss:
        fields["iss"] = issuer()
    if response_mode != "form_post":
        separator = "&" if "?" in redirect_uri else "?"
        return redirect(f"{redirect_uri}{separator}{urlencode(fields)}", 303)
    page = await render_template(
        "oidc/form_post.html", vendor=vendor, action=redirect_uri, fields=fields
    )
    response = Response(page)
    # The form may go to the redirect URI only, and the vendor's own redirects after it stay
    # on its registered domains (browsers apply form-action to them too).
    response.headers["Content-Security-Policy"] = content_security_policy(
        form_action=" ".join(form_action_sources(redirect_uri, domains))
    )
    return response


def page_policy(target: str | None, domains: list[str]) -> dict[str, str]:
    """The CSP of a portal page whose form posts back to the portal, which answers with a 303 on
    to the vendor at `target`: browsers apply form-action to the redirects that follow a form
    too, so the vendor's address (and its own redirects, on its domains) stay allowed."""
    sources = form_action_sources(target, domains) if target else []
    policy = content_security_policy(form_action=" ".join(("'self'", *sources)))
    return {"Content-Security-Policy": policy}

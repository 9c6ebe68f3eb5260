"""The authorization endpoint's answers to a vendor, at its registered redirect URI: in the
query (a 303) or as a form the browser posts (response_mode=form_post), with `iss` (RFC 9207),
so a vendor using several providers cannot be fooled about which one answered — unless staff
left it out for this vendor (its `omit_iss`: docs/oidc.md, older mod_auth_openidc)."""

from urllib.parse import urlencode

from quart import Response, redirect, render_template, request
from quart.typing import ResponseReturnValue

from portal import access_refusals, settings
from portal.access_rules import Decision
from portal.models import Vendor
from portal.security import content_security_policy
from portal.urls import form_action_sources


def issuer() -> str:
    return settings.current().issuer_for(request.host_url.rstrip("/"))


def answer_fields(vendor: Vendor, params: dict[str, str | None]) -> dict[str, str]:
    """What an answer carries: its parameters given, and `iss`."""
    fields = {name: value for name, value in params.items() if value is not None}
    # Keycloak's "exclude issuer from authentication response": mod_auth_openidc 2.4 takes an
    # `iss` at its redirect URI for a sign-in started elsewhere and shows the member an error.
    if not vendor.omit_iss:
        fields["iss"] = issuer()
    return fields


def in_query(redirect_uri: str, fields: dict[str, str]) -> str:
    separator = "&" if "?" in redirect_uri else "?"
    return f"{redirect_uri}{separator}{urlencode(fields)}"


async def to_vendor(
    vendor: Vendor,
    redirect_uri: str,
    response_mode: str,
    params: dict[str, str | None],
    domains: list[str],
) -> ResponseReturnValue:
    fields = answer_fields(vendor, params)
    if response_mode != "form_post":
        return redirect(in_query(redirect_uri, fields), 303)
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


async def refusal_page(
    vendor: Vendor,
    decision: Decision,
    redirect_uri: str,
    response_mode: str,
    params: dict[str, str | None],
    domains: list[str],
) -> Response:
    """The access rule's refusal page (access_refusals.page), its "Back to the site" the answer
    `params` to the vendor, as to_vendor would send it: a link to the redirect URI, or for
    form_post a form posted there (its CSP then lets the form go to the vendor only)."""
    fields = answer_fields(vendor, params)
    if response_mode != "form_post":
        return await access_refusals.page(vendor, decision, back_url=in_query(redirect_uri, fields))
    return await access_refusals.page(
        vendor, decision, back_url=redirect_uri, back_fields=fields,
        form_action=form_action_sources(redirect_uri, domains),
    )  # fmt: skip


def page_policy(target: str | None, domains: list[str]) -> dict[str, str]:
    """The CSP of a portal page whose form posts back to the portal, which answers with a 303 on
    to the vendor at `target`: browsers apply form-action to the redirects that follow a form
    too, so the vendor's address (and its own redirects, on its domains) stay allowed."""
    sources = form_action_sources(target, domains) if target else []
    policy = content_security_policy(form_action=" ".join(("'self'", *sources)))
    return {"Content-Security-Policy": policy}

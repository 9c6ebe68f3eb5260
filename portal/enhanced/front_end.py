"""The Enhanced SSO front end's registration (portal/front_ends.py): what the core and the
domain reach of it without importing it."""

from collections.abc import Sequence
from typing import Any

from werkzeug.datastructures import MultiDict

from portal import catalogue, clock, good_standing, settings, vendor_rules
from portal.enhanced import tokens
from portal.front_ends import FrontEnd, SettingsForm, VendorPage, VendorSettings
from portal.models import Member, Vendor

PREVIEW_SID = "(the portal session of each sign-in)"  # the preview has no session of its own


def member_object(_vendor: Vendor, member: Member, selection: list[tuple[str, str]]) -> Any:
    """The exact JSON the user service sends (catalogue.member_object, as it uses it)."""
    terms = good_standing.terms(settings.current(), clock.now())
    return catalogue.member_object(member, selection, terms, sid=PREVIEW_SID)


def read_new(
    form: MultiDict[str, str], _domains: Sequence[str] | None, *, development: bool
) -> dict[str, Any]:
    """The add-vendor form's token URL, which a new Enhanced SSO vendor needs."""
    url = form.get("token_url", "").strip()[:2048]
    return {"token_url": vendor_rules.check_token_url(url, development=development)}


FRONT_END = FrontEnd(
    name="enhanced",
    label="Enhanced SSO",
    # /account: the member's account page, which this front end serves with the member pages,
    # continues after the sign-in it asks for.
    entry_paths=frozenset({"/sso/signin", "/account"}),
    issued_event="token.issued",
    session_ended=tokens.session_ended,
    purge_rules=tokens.purge_rules,
    # A signed-in member's own way in: the silent issue, which lands on the vendor's home.
    portal_start=lambda vendor: f"/sso/signin?vendor={vendor.key}",
    hint="The portal hands the site a one-time token at its token URL; the site needs code "
    "written for this portal.",
    # The portal posts the one-time token to the token URL, a detail of the vendor.
    vendor_settings=VendorSettings(needs_token_url=True),
    settings_form=SettingsForm(new_template="admin/vendors/enhanced_new.html", read_new=read_new),
    vendor_page=VendorPage(
        integration="admin/vendors/_integration.html",
        preview=member_object,
        preview_id="preview-json",
        preview_label="Enhanced SSO: the member object",
        tokens_do=("redeeming", "redeem"),
    ),
)

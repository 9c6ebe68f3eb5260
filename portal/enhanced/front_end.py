"""The Enhanced SSO front end's registration (portal/front_ends.py): what the core and the
domain reach of it without importing it."""

from collections.abc import Mapping, Sequence
from typing import Any

from werkzeug.datastructures import MultiDict

from portal import vendor_rules
from portal.enhanced import tokens
from portal.errors import InvalidField
from portal.front_ends import FrontEnd, SettingsForm, VendorSettings
from portal.models import Vendor


def needs_token_url(vendor: Vendor, _: Mapping[str, Any]) -> None:
    """The portal posts the one-time token to the token URL, a detail of the vendor."""
    if not vendor.token_url:
        raise InvalidField(
            "protocol",
            "Enhanced SSO needs a token URL: enter it under Details first.",
        )


def read_new(
    form: MultiDict[str, str], _domains: Sequence[str] | None, *, development: bool
) -> dict[str, Any]:
    """The add-vendor form's token URL, which a new Enhanced SSO vendor needs."""
    url = form.get("token_url", "").strip()[:2048]
    return {"token_url": vendor_rules.check_token_url(url, development=development)}


FRONT_END = FrontEnd(
    name="enhanced",
    label="Enhanced SSO",
    entry_paths=frozenset({"/sso/signin"}),
    issued_event="token.issued",
    session_ended=tokens.session_ended,
    purge_rules=tokens.purge_rules,
    hint="The portal hands the site a one-time token at its token URL; the site needs code "
    "written for this portal.",
    vendor_settings=VendorSettings(needs=needs_token_url, needs_details=True),
    settings_form=SettingsForm(new_template="admin/vendors/enhanced_new.html", read_new=read_new),
)

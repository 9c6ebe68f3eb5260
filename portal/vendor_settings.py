"""A vendor's settings as one whole, for the command line: every setting the dashboard can
change, read at once (`snapshot`), changed at once (`apply`) through the same domain functions
the dashboard's forms call, and the audit events the dashboard records for such changes
(`events`). The caller runs it all in one transaction, so a refused value writes nothing."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import (
    access_rules,
    audit,
    front_ends,
    sign_in_methods,
    vendor_access,
    vendor_rules,
    vendors,
)
from portal.errors import Conflict, InvalidField, NotFound
from portal.models import Vendor

DETAILS = ("name", "token_url", "signout_url", "start_url", "my_sites")
LOGOUT = (*vendor_rules.LOGOUT_URLS, "backchannel_logout_session_required")
# The access rule's parts (portal/access_rules.py): a part not given stays as it is.
ACCESS = ("access_good_standing", "access_member_types", "access_statuses")


def updated() -> tuple[str, ...]:
    """What the dashboard records as `vendor.updated` (its Details and How members sign in
    forms): the details, then the sign-in method with every front end's own settings."""
    return (*DETAILS, *LOGOUT, *sign_in_methods.names())


def settings() -> tuple[str, ...]:
    """What `apply` takes: the above, the returned fields, enabled, domains to add or remove,
    and the access rule's parts."""
    return (*updated(), "fields", "enabled", "add_domains", "remove_domains", *ACCESS)


async def snapshot(db: AsyncSession, vendor: Vendor) -> dict[str, Any]:
    """Every setting of the vendor (never a secret), as the audit log records them."""
    return {
        **vendors.settings_of(vendor),
        **await sign_in_methods.settings_of(db, vendor),
        "domains": await vendors.select_domains(db, vendor),
        "fields": vendor_rules.field_specs(await vendors.select_fields(db, vendor)),
        "enabled": vendor.enabled,
        vendor_access.SETTING: access_rules.of_vendor(vendor).in_words(),
    }


async def apply(
    db: AsyncSession,
    vendor: Vendor,
    given: Mapping[str, Any],
    *,
    development: bool,
    now: datetime,
) -> None:
    """Change the settings in `given` (keys of `settings()`; the rest stay as they are). Domains
    are added first and removed last, so addresses can move to a new domain in one go."""
    for domain in given.get("add_domains", ()):
        try:
            await vendors.add_domain(db, vendor, domain, development=development)
        except InvalidField as exc:
            raise InvalidField("add_domains", str(exc)) from None
    method = {name: given[name] for name in sign_in_methods.names() if name in given}
    chosen = front_ends.named(method.get("protocol", vendor.protocol))
    # Moving to a front end that needs a token URL (Enhanced SSO), a detail, the
    # details go first; moving to another, the sign-in method does (the token URL may then go).
    details_first = chosen.vendor_settings.needs_token_url
    if method and not details_first:
        await sign_in_methods.save(db, vendor, method, development=development, now=now)
    await _save_details(db, vendor, given, development, now)
    if method and details_first:
        await sign_in_methods.save(db, vendor, method, development=development, now=now)
    for domain in given.get("remove_domains", ()):
        try:
            await vendors.remove_domain(db, vendor, domain, development=development)
        except (NotFound, Conflict) as exc:
            raise InvalidField("remove_domains", str(exc)) from None
    if "fields" in given:
        await vendors.replace_fields(db, vendor, given["fields"])
    if "enabled" in given:
        await vendors.set_enabled(db, vendor, given["enabled"], now=now)
    if any(name in given for name in ACCESS):
        now_rule = access_rules.of_vendor(vendor)
        rule = access_rules.checked(
            given.get("access_good_standing", now_rule.good_standing),
            given.get("access_member_types", now_rule.member_types),
            given.get("access_statuses", now_rule.statuses),
        )
        vendor_access.change(vendor, rule, now=now)


async def _save_details(
    db: AsyncSession, vendor: Vendor, given: Mapping[str, Any], development: bool, now: datetime
) -> None:
    """Only what was given is checked again: a setting nobody touched is left alone."""
    if any(name in given for name in DETAILS):
        await vendors.update_vendor(
            db,
            vendor,
            **{name: given.get(name, getattr(vendor, name)) for name in DETAILS},
            development=development,
            now=now,
        )
    if any(name in given for name in LOGOUT):
        urls = {name: given[name] for name in vendor_rules.LOGOUT_URLS if name in given}
        required = given.get("backchannel_logout_session_required")
        await vendors.set_logout_urls(
            db, vendor, urls, development=development, now=now, session_required=required
        )


def events(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The audit events (name, details) the dashboard records for the same changes."""
    found: list[tuple[str, Any]] = []
    changed = audit.changes(before, {name: after[name] for name in updated()})
    if changed:
        found.append(("vendor.updated", {"changes": changed}))
    added = [d for d in after["domains"] if d not in before["domains"]]
    removed = [d for d in before["domains"] if d not in after["domains"]]
    found += [("vendor.domain_added", {"domain": domain}) for domain in added]
    found += [("vendor.domain_removed", {"domain": domain}) for domain in removed]
    if before["fields"] != after["fields"]:
        changed = audit.changes(before, {"fields": after["fields"]})
        found.append(("vendor.fields_changed", {"changes": changed}))
    if before["enabled"] != after["enabled"]:
        event = "vendor.enabled" if after["enabled"] else "vendor.disabled"
        found.append((event, {"changes": audit.changes(before, {"enabled": after["enabled"]})}))
    access = audit.changes(before, {vendor_access.SETTING: after[vendor_access.SETTING]})
    if access:
        found.append((vendor_access.EVENT, {"changes": access}))
    return found

"""Vendors: the list, registration, settings, enable and disable."""

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from quart import Blueprint, g, redirect, request, session
from quart.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from portal import (
    access_rules,
    audit,
    clock,
    db,
    front_ends,
    sealing,
    settings,
    sign_in_methods,
    vendor_rules,
    vendors,
)
from portal.admin import vendor_page
from portal.admin.access import record, staff_required
from portal.admin.pages import done, render
from portal.admin.vendor_page import render_vendor
from portal.catalogue import DEFAULT_SELECTION
from portal.errors import InvalidField, PortalError
from portal.front_ends import FrontEnd
from portal.vendors import NewVendor

blueprint = Blueprint("admin_vendors", __name__)
NEW_FIELDS = ("key", "name", "protocol", "domain", "signout_url", "backchannel_logout_url")
MAX_TEXT = 30_000  # a textarea of ten addresses, the longest field of a front end's own
NEW_VENDOR = {field.name for field in fields(NewVendor)}
# The new vendor's secret between "Add vendor" and its one showing (post/redirect/get): in the
# signed session cookie, sealed with the secret key (a signed cookie alone is readable), never
# in the URL or the log, and taken out at the one GET that shows it.
ADDED = "vendor_added"


@blueprint.get("/admin/vendors")
@staff_required()
async def vendor_list() -> ResponseReturnValue:
    async with db.transaction() as s:
        found = await vendors.select_vendors(s)
        domains = await vendors.select_all_domains(s)
        activity = await audit.last_activity(s, [v.key for v in found])
        attention = await vendor_page.attention(s, found, clock.now())
    return await render(
        "admin/vendors/list.html",
        vendors=found,
        domains=domains,
        activity=activity,
        attention=attention,
        protocols=front_ends.labels(),
        rules={v.id: access_rules.of_vendor(v) for v in found},
    )


@blueprint.get("/admin/vendors/new")
@staff_required("admin")
async def new_vendor() -> ResponseReturnValue:
    values = {"protocol": NewVendor.protocol}
    return await render(
        "admin/vendors/new.html",
        values=values,
        errors={},
        fields=DEFAULT_SELECTION,
        sign_in_methods=front_ends.listed(),
    )


def check_each(
    values: dict[str, str], form: MultiDict[str, str], development: bool
) -> tuple[dict[str, str], FrontEnd | None, dict[str, Any]]:
    """Every field's own rule, so the form can show each problem next to its field: the
    common ones, then the chosen front end's own fields (an Enhanced SSO vendor's token URL,
    an OpenID Connect vendor's sign-in return addresses), checked on the domain given."""
    checks: dict[str, Callable[[str], object]] = {
        "key": vendor_rules.check_key,
        "name": vendor_rules.check_name,
        "domain": lambda v: vendor_rules.check_domains([v], development=development),
        "protocol": vendor_rules.check_protocol,
    }
    errors = {}
    for name, check in checks.items():
        try:
            check(values[name])
        except InvalidField as exc:
            errors[name] = str(exc)
    if "protocol" in errors:
        return errors, None, {}
    chosen = front_ends.named(values["protocol"])
    domains = None if "domain" in errors else [values["domain"]]
    try:
        own = chosen.settings_form.read_new(form, domains, development=development)
    except InvalidField as exc:
        errors[exc.field] = str(exc)
        own = {}
    return errors, chosen, own


@blueprint.post("/admin/vendors")
@staff_required()
async def create_vendor() -> ResponseReturnValue:
    form = await request.form
    # Shown again when refused: the common fields and each front end's own.
    values = {name: form.get(name, "").strip()[:MAX_TEXT] for name in form}
    values |= {name: form.get(name, "").strip()[:2048] for name in NEW_FIELDS}
    values["protocol"] = values["protocol"] or NewVendor.protocol  # none chosen: the default
    development = settings.current().development
    errors, chosen, own = check_each(values, form, development)
    if not errors and chosen:
        # What vendors.NewVendor takes goes there (the token URL, whether it gets a secret);
        # the rest of the front end's own settings to its sign-in method.
        first = {name: value for name, value in own.items() if name in NEW_VENDOR}
        later = {name: value for name, value in own.items() if name not in NEW_VENDOR}
        new = NewVendor(
            **{"token_url": None, **first},
            key=values["key"],
            name=values["name"],
            domains=[values["domain"]],
            signout_url=values["signout_url"] or None,
            backchannel_logout_url=values["backchannel_logout_url"] or None,
            protocol=chosen.name,
        )
        try:
            async with db.transaction() as s:
                vendor, secret = await vendors.add_vendor(s, new, development=development)
                after: dict[str, object] = {
                    **vendors.settings_of(vendor),
                    "domains": [values["domain"]],
                }
                if later:
                    method = {"protocol": chosen.name, **later}
                    await sign_in_methods.save(
                        s, vendor, method, development=development, now=clock.now()
                    )
                    after |= await sign_in_methods.settings_of(s, vendor)
                await record(
                    s, "vendor.created", vendor_key=vendor.key, changes=audit.changes({}, after)
                )
        except InvalidField as exc:
            errors[exc.field] = str(exc)
        except PortalError as exc:  # the key is taken
            errors["key"] = str(exc)
    if errors:
        return await render(
            "admin/vendors/new.html",
            status=422,
            values=values,
            errors=errors,
            fields=DEFAULT_SELECTION,
            sign_in_methods=front_ends.listed(),
        )
    keep_for_one_showing(vendor.key, secret)
    return redirect(added_page(vendor.key), 303)


def added_page(key: str) -> str:
    return f"/admin/vendors/{key}/added"


def keep_for_one_showing(key: str, secret: str | None) -> None:
    sealed = sealing.seal(secret.encode(), settings.current()) if secret else None
    session[ADDED] = {"key": key, "staff": g.staff.id, "sealed": sealed}


def take_kept_secret(key: str) -> tuple[bool, str | None]:
    """(whether this vendor was just added in this browser by this staff member and not yet
    shown, its secret if it has one); either way nothing is left for a second showing."""
    kept = session.get(ADDED)
    if not isinstance(kept, dict) or kept.get("key") != key or kept.get("staff") != g.staff.id:
        return False, None
    session.pop(ADDED)
    try:
        sealed = kept.get("sealed")
        return True, sealing.unseal(sealed, settings.current()).decode() if sealed else None
    except sealing.Unopenable:  # the secret key changed in between: as if shown already
        return False, None


@blueprint.get("/admin/vendors/<key>/added")
@staff_required()
async def vendor_added(key: str) -> ResponseReturnValue:
    """The one page that shows a new vendor's secret (kept from no-store caches by
    portal.security); reloaded, it says the secret was shown and shows the vendor."""
    fresh, secret = take_kept_secret(key)
    if fresh:
        return await render_vendor(key, new_secret=secret, created=True)
    return await render_vendor(key, already_shown=True)


@blueprint.get("/admin/vendors/<key>")
@staff_required()
async def vendor_detail(key: str) -> ResponseReturnValue:
    return await render_vendor(key, member=request.args.get("member", ""))


@blueprint.post("/admin/vendors/<key>")
@staff_required()
async def edit_vendor(key: str) -> ResponseReturnValue:
    form = await request.form
    values = {
        name: form.get(name, "").strip()[:2048]
        for name in (
            *("name", "token_url", "signout_url", "start_url", "my_sites"),
            *vendor_rules.LOGOUT_URLS,
        )
    }
    try:
        async with db.transaction() as s:
            vendor = await vendors.get_vendor(s, key)
            before = await vendors.update_vendor(
                s,
                vendor,
                name=values["name"],
                token_url=values["token_url"],
                signout_url=values["signout_url"] or None,
                start_url=values["start_url"] or None,
                my_sites=values["my_sites"] or None,  # a form without it: as it is
                development=settings.current().development,
                now=clock.now(),
            )
            await vendors.set_logout_urls(
                s,
                vendor,
                {field: values[field] or None for field in vendor_rules.LOGOUT_URLS},
                development=settings.current().development,
                now=clock.now(),
                session_required=form.get("backchannel_logout_session_required") == "1"
                if "backchannel_logout_session_required" in own_details(vendor.protocol)
                else None,
            )
            changed = audit.changes(before, vendors.settings_of(vendor))
            if changed:
                await record(s, "vendor.updated", vendor_key=key, changes=changed)
    except InvalidField as exc:
        return await render_vendor(
            key, block="settings", status=422, values=values, errors={exc.field: str(exc)}
        )
    message = "Settings saved." if changed else "Nothing to change."
    return await done(
        f"/admin/vendors/{key}", message, lambda: render_vendor(key, block="settings")
    )


async def set_enabled(key: str, enabled: bool) -> ResponseReturnValue:
    async with db.transaction() as s:
        vendor = await vendors.get_vendor(s, key)
        before = vendor.enabled
        await vendors.set_enabled(s, vendor, enabled, now=clock.now())
        if before != enabled:
            event = "vendor.enabled" if enabled else "vendor.disabled"
            await record(
                s,
                event,
                vendor_key=key,
                changes=audit.changes({"enabled": before}, {"enabled": enabled}),
            )
    message = f"{vendor.name} is {'enabled' if enabled else 'disabled'}."
    return await done(f"/admin/vendors/{key}", message, lambda: render_vendor(key, block="status"))


@blueprint.post("/admin/vendors/<key>/enable")
@staff_required()
async def enable_vendor(key: str) -> ResponseReturnValue:
    return await set_enabled(key, True)


@blueprint.post("/admin/vendors/<key>/disable")
@staff_required()
async def disable_vendor(key: str) -> ResponseReturnValue:
    return await set_enabled(key, False)


def own_details(protocol: str) -> tuple[str, ...]:
    """The details only the vendor's front end offers (OpenID Connect: whether the vendor needs
    to know which session ended)."""
    return front_ends.named(protocol).vendor_settings.details

"""Vendors: the list, registration, settings, enable and disable."""

from collections.abc import Callable

from quart import Blueprint, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, clock, db, oidc_registration, settings, vendor_rules, vendors
from portal.admin.access import record, staff_required
from portal.admin.pages import done, render
from portal.admin.vendor_page import render_vendor
from portal.catalogue import DEFAULT_SELECTION
from portal.errors import InvalidField, PortalError
from portal.models import Vendor
from portal.vendors import NewVendor

blueprint = Blueprint("admin_vendors", __name__)
NEW_FIELDS = (
    *("key", "name", "protocol", "token_url", "redirect_uris", "domain", "signout_url"),
    "client_type",
)


@blueprint.get("/admin/vendors")
@staff_required()
async def vendor_list() -> ResponseReturnValue:
    async with db.transaction() as s:
        found = await vendors.select_vendors(s)
        domains = await vendors.select_all_domains(s)
        activity = await audit.last_activity(s, [v.key for v in found])
    return await render(
        "admin/vendors/list.html", vendors=found, domains=domains, activity=activity
    )


@blueprint.get("/admin/vendors/new")
@staff_required("admin")
async def new_vendor() -> ResponseReturnValue:
    values = {"protocol": "enhanced"}
    return await render(
        "admin/vendors/new.html", values=values, errors={}, fields=DEFAULT_SELECTION
    )


def check_redirect_uris(values: dict[str, str], development: bool) -> object:
    """Only against a domain that passes its own check (a bad one is reported there)."""
    try:
        domains = vendor_rules.check_domains([values["domain"]], development=development)
    except InvalidField:
        return None
    registration = oidc_registration.Registration(
        oidc_registration.uri_lines(values["redirect_uris"])
    )
    return oidc_registration.check(registration, domains, development=development)


def check_each(values: dict[str, str], development: bool) -> dict[str, str]:
    """Every field's own rule, so the form can show each problem next to its field. The token
    URL is Enhanced SSO's; the sign-in return addresses are OpenID Connect's."""
    checks: dict[str, Callable[[str], object]] = {
        "key": vendor_rules.check_key,
        "name": vendor_rules.check_name,
        "domain": lambda v: vendor_rules.check_domains([v], development=development),
    }
    if values["protocol"] == "oidc":
        checks["redirect_uris"] = lambda _: check_redirect_uris(values, development)
    else:
        checks["token_url"] = lambda v: vendor_rules.check_token_url(v, development=development)
    errors = {}
    for name, check in checks.items():
        try:
            check(values[name])
        except InvalidField as exc:
            errors[name] = str(exc)
    return errors


async def save_registration(
    s: AsyncSession, vendor: Vendor, values: dict[str, str], development: bool
) -> dict[str, object]:
    """A new OpenID Connect vendor's sign-in return addresses; the rest keeps its defaults."""
    uris = oidc_registration.uri_lines(values["redirect_uris"])
    public = values["client_type"] == "public"
    registration = oidc_registration.Registration(uris, public_client=public)
    await oidc_registration.save(s, vendor, registration, development=development, now=clock.now())
    return oidc_registration.settings_of(await oidc_registration.registration_of(s, vendor))


@blueprint.post("/admin/vendors")
@staff_required()
async def create_vendor() -> ResponseReturnValue:
    form = await request.form
    values = {name: form.get(name, "").strip()[:2048] for name in NEW_FIELDS}
    values["redirect_uris"] = form.get("redirect_uris", "").strip()[:30_000]
    oidc = values["protocol"] == "oidc"
    development = settings.current().development
    errors = check_each(values, development)
    if not errors:
        new = NewVendor(
            key=values["key"],
            name=values["name"],
            token_url=None if oidc else values["token_url"],
            domains=[values["domain"]],
            signout_url=values["signout_url"] or None,
            protocol="oidc" if oidc else "enhanced",
            public_client=oidc and values["client_type"] == "public",
        )
        try:
            async with db.transaction() as s:
                vendor, secret = await vendors.add_vendor(s, new, development=development)
                after: dict[str, object] = {
                    **vendors.settings_of(vendor),
                    "domains": [values["domain"]],
                }
                if oidc:
                    after = {**after, **await save_registration(s, vendor, values, development)}
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
        )
    # The only answer that shows the secret: no redirect; never kept (portal.security).
    return await render_vendor(vendor.key, status=201, new_secret=secret, created=True)


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
        for name in ("name", "token_url", "signout_url", "start_url", *vendor_rules.LOGOUT_URLS)
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
                if vendor.protocol == "oidc"
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

"""A vendor's sign-in method: the front end its members sign in through (`vendor.protocol`) and
every front end's own settings of it (portal/front_ends.py's `VendorSettings`), read, checked,
saved and audited as one — for the dashboard's "How members sign in", `portal vendor add/set`
and `portal vendor show` alike, none of which names a front end. Each front end's rules are its
own (OpenID Connect's: portal/oidc/registration.py); this module only asks them."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import front_ends, vendor_rules, vendors
from portal.errors import InvalidField
from portal.front_ends import FrontEnd
from portal.models import Vendor, id_of


def names() -> tuple[str, ...]:
    """The settings, as the audit log records them: the protocol, then each front end's."""
    return ("protocol", *(n for f in front_ends.registered() for n in f.vendor_settings.names))


def own(front_end: FrontEnd, values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: values[name] for name in front_end.vendor_settings.names}


async def values_of(db: AsyncSession, vendor: Vendor) -> dict[str, Any]:
    """The saved values, as the forms and the command line give them."""
    found: dict[str, Any] = {"protocol": vendor.protocol}
    for front_end in front_ends.registered():
        found |= await front_end.vendor_settings.read(db, vendor)
    return found


def audited(values: Mapping[str, Any]) -> dict[str, object]:
    found: dict[str, object] = {"protocol": values["protocol"]}
    for front_end in front_ends.registered():
        found |= front_end.vendor_settings.audited(own(front_end, values))
    return found


async def settings_of(db: AsyncSession, vendor: Vendor) -> dict[str, object]:
    """What the audit log records of the sign-in method."""
    return audited(await values_of(db, vendor))


def check(
    values: Mapping[str, Any], domains: Sequence[str], *, development: bool
) -> dict[str, Any]:
    """The protocol, then every front end's rules: the values checked, or InvalidField naming
    the first setting refused."""
    protocol = vendor_rules.check_protocol(str(values["protocol"]))
    checked: dict[str, Any] = {"protocol": protocol}
    for front_end in front_ends.registered():
        settings = front_end.vendor_settings
        checked |= settings.check(own(front_end, values), domains, development=development)
    return checked


async def save(
    db: AsyncSession,
    vendor: Vendor,
    given: Mapping[str, Any],
    *,
    development: bool,
    now: datetime,
) -> dict[str, object]:
    """Change the values in `given` (the others stay as they are): check them all, and what the
    chosen front end needs, then write; returns the settings before. Every front end hears of
    the change (`vendor_changed`: what it no longer allows ends)."""
    values = {**await values_of(db, vendor), **given}
    checked = check(values, await vendors.select_domains(db, vendor), development=development)
    chosen = front_ends.named(checked["protocol"])
    if missing := vendor_rules.token_url_missing(chosen.name, vendor.token_url):
        raise InvalidField("protocol", f"{missing}: enter it under Details first.")
    chosen.vendor_settings.needs(vendor, own(chosen, checked))
    before = await settings_of(db, vendor)
    after = audited(checked)
    await front_ends.vendor_changed(db, id_of(vendor), before=before, after=after, now=now)
    vendor.protocol = checked["protocol"]
    for front_end in front_ends.registered():
        await front_end.vendor_settings.write(db, vendor, own(front_end, checked))
    vendor.updated_at = now
    db.add(vendor)
    return before

"""Demo data for `portal demo`: fixed, documented sign-ins. Development mode only."""

from collections.abc import Mapping
from dataclasses import asdict
from datetime import date

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import (
    members,
    sign_in_methods,
    staff,
    vendor_redirect_uris,
    vendor_rules,
    vendor_secrets,
    vendors,
)
from portal.clock import system_clock
from portal.crypto import digest
from portal.demo import oidc_vendor, saml_vendor
from portal.models import Vendor, VendorSecret
from portal.oidc.registration import Registration
from portal.saml import service_providers

DEMO_PASSWORD = "demo-password"  # noqa: S105 - published in the README, development only
DEMO_MEMBERS = (
    {"imis_id": "101", "username": "ada", "email": "ada@example.org", "first_name": "Ada",
     "last_name": "Lovelace", "member_type": "REG", "company": "Analytical Engines Ltd",
     "title": "Analyst", "join_date": date(2015, 3, 1), "paid_through": date(2030, 12, 31)},
    {"imis_id": "102", "username": "grace", "email": "grace@example.org", "first_name": "Grace",
     "last_name": "Hopper", "member_type": "STU", "join_date": date(2022, 9, 1),
     "paid_through": date(2030, 6, 30)},
    {"imis_id": "103", "username": "alan", "email": "alan@example.org", "first_name": "Alan",
     "last_name": "Turing", "member_type": "REG", "member_status": "I",
     "join_date": date(2010, 1, 1), "paid_through": date(2024, 12, 31)},
)  # fmt: skip
DEMO_STAFF = (("admin@example.org", "admin"), ("viewer@example.org", "viewer"))
# key, name, theme of the demo vendor app (portal/demo/content.py)
DEMO_VENDORS = (
    ("acme-learning", "Acme Learning", "acme"),
    ("careerhub", "CareerHub Jobs", "careerhub"),
    ("community-forum", "Community Forum", "forum"),
    ("eventhub", "EventHub Conferences", "events"),
)
OIDC_VENDORS = frozenset({"community-forum"})  # these speak OpenID Connect (oidc_vendor.py)
SAML_VENDORS = frozenset({"eventhub"})  # and these SAML 2.0 (saml_vendor.py)
DEFAULT_SITES = {
    "acme-learning": "http://localhost:8001",
    "careerhub": "http://localhost:8002",
    "community-forum": "http://localhost:8003",
    "eventhub": "http://localhost:8004",
}


async def ensure(db: AsyncSession, sites: Mapping[str, str] = DEFAULT_SITES) -> None:
    """Create whatever demo data is missing; running it again changes nothing, except that the
    demo vendors follow `sites` (their origins, e.g. after `--vendor-port` changed)."""
    for values in DEMO_MEMBERS:
        if await members.select_member_by_login(db, str(values["username"])) is None:
            await members.add_member(db, members.parse_member(dict(values)), DEMO_PASSWORD)
    for email, role in DEMO_STAFF:
        if await staff.select_staff_by_email(db, email) is None:
            await staff.add_staff(db, email, role, DEMO_PASSWORD)
    for key, name, _ in DEMO_VENDORS:
        if key in OIDC_VENDORS:
            await ensure_oidc_vendor(db, key, name, sites[key])
        elif key in SAML_VENDORS:
            await ensure_saml_vendor(db, key, name, sites[key])
        else:
            await ensure_vendor(db, key, name, sites[key])


async def ensure_vendor(db: AsyncSession, key: str, name: str, site: str) -> None:
    token_url, signout_url, start_url = f"{site}/sso/token", f"{site}/", f"{site}/sso/start"
    backchannel_url = f"{site}/sso/backchannel-logout"
    vendor = await vendors.select_vendor_by_key(db, key)
    if vendor is None:
        new = vendors.NewVendor(
            key,
            name,
            token_url,
            ["localhost"],
            signout_url,
            start_url=start_url,
            backchannel_logout_url=backchannel_url,
        )
        vendor, secret = await vendors.add_vendor(db, new, development=True)
        await pin_demo_secret(db, vendor, secret or "")
        return
    if vendor.token_url != token_url:  # the token URL is matched exactly: it follows the port
        vendor.token_url = vendor_rules.check_token_url(token_url, development=True)
        vendor.signout_url, vendor.start_url = signout_url, start_url
        vendor.backchannel_logout_url = backchannel_url
    # Demo data from before single logout.
    vendor.backchannel_logout_url = vendor.backchannel_logout_url or backchannel_url
    vendor.start_url = vendor.start_url or start_url  # demo data from before start pages
    db.add(vendor)
    await keep_demo_secret(db, vendor)


async def ensure_oidc_vendor(db: AsyncSession, key: str, name: str, site: str) -> None:
    """The OpenID Connect vendor (oidc_vendor.py): its exact addresses follow its port."""
    signout_url, start_url = f"{site}/", f"{site}{oidc_vendor.START}"
    backchannel_url = f"{site}/sso/backchannel-logout"  # vendor_logout.py, as the others
    wanted = Registration(
        redirect_uris=[site + oidc_vendor.CALLBACK],
        post_logout_uris=[site + oidc_vendor.SIGNED_OUT],
        scopes=tuple(oidc_vendor.SCOPE.split()),
        refresh_tokens=True,
    )
    vendor = await vendors.select_vendor_by_key(db, key)
    if vendor is None:
        new = vendors.NewVendor(
            key, name, None, ["localhost"], signout_url, start_url=start_url, protocol="oidc",
            backchannel_logout_url=backchannel_url,
        )  # fmt: skip
        vendor, secret = await vendors.add_vendor(db, new, development=True)
        await pin_demo_secret(db, vendor, secret or "")
    elif wanted.redirect_uris[0] in await vendor_redirect_uris.select_redirect_uris(
        db, vendor, "login"
    ):
        # Demo data from before the forum took sign-out notices.
        vendor.backchannel_logout_url = vendor.backchannel_logout_url or backchannel_url
        db.add(vendor)
        await keep_demo_secret(db, vendor)
        return
    else:  # a new port, or staff changed it: the demo site knows only these addresses
        vendor.signout_url, vendor.start_url = signout_url, start_url
        vendor.backchannel_logout_url = backchannel_url
        await keep_demo_secret(db, vendor)
    now = system_clock()
    method = {"protocol": "oidc", **asdict(wanted)}  # every setting: staff's changes go
    await sign_in_methods.save(db, vendor, method, development=True, now=now)


async def ensure_saml_vendor(db: AsyncSession, key: str, name: str, site: str) -> None:
    """The SAML vendor (saml_vendor.py), registered from the SP metadata it publishes: its key
    is made at every start, so its metadata is imported afresh whenever it changed."""
    signout_url, start_url = f"{site}/", f"{site}{saml_vendor.START}"
    metadata = saml_vendor.sp_metadata(site)
    vendor = await vendors.select_vendor_by_key(db, key)
    if vendor is None:
        new = vendors.NewVendor(
            key, name, None, ["localhost"], signout_url, start_url=start_url, protocol="saml"
        )
        vendor, _ = await vendors.add_vendor(db, new, development=True)
    else:  # its addresses follow its port
        vendor.signout_url, vendor.start_url = signout_url, start_url
        db.add(vendor)
    registered = await service_providers.of_vendor(db, vendor)
    if vendor.protocol != "saml" or registered is None or registered.metadata_xml != metadata:
        # As staff import it (the dashboard, `portal vendor set --metadata-file`). Its SP wants
        # the Response signed as well as the assertion (saml_vendor.own_settings).
        method = {"protocol": "saml", "saml_metadata": metadata, "saml_sign_response": True}
        await sign_in_methods.save(db, vendor, method, development=True, now=system_clock())


async def keep_demo_secret(db: AsyncSession, vendor: Vendor) -> None:
    wanted = digest(demo_secret(vendor.key))
    if not any(row.secret_hash == wanted for row in await active(db, vendor)):
        # Staff rotated or revoked it in the dashboard; the demo vendor knows only this one.
        # Its revoked row goes first: a secret's hash is unique, revoked or not.
        await db.exec(delete(VendorSecret).where(col(VendorSecret.secret_hash) == wanted))
        await pin_demo_secret(db, vendor, await vendor_secrets.rotate(db, vendor))


async def pin_demo_secret(db: AsyncSession, vendor: Vendor, fresh_secret: str) -> None:
    """The demo vendor needs a secret it knows in advance: replace a fresh random one."""
    for row in await active(db, vendor):
        if row.secret_hash == digest(fresh_secret):
            row.secret_hash = digest(demo_secret(vendor.key))
            db.add(row)


async def active(db: AsyncSession, vendor: Vendor) -> list[VendorSecret]:
    return await vendor_secrets.select_active(db, vendor)


def demo_secret(vendor_key: str) -> str:
    return f"demo-vendor-secret-{vendor_key}"


def describe(portal_url: str, sites: Mapping[str, str]) -> str:
    names = {key: name for key, name, _ in DEMO_VENDORS}
    width = max(len(name) for name in names.values())
    vendor_lines = "".join(
        f"  {names[key]:<{width}} {url}/"
        + ("  (OpenID Connect)" if key in OIDC_VENDORS else "")
        + ("  (SAML 2.0)" if key in SAML_VENDORS else "")
        + "\n"
        for key, url in sites.items()
    )
    logins = ", ".join(str(m["username"]) for m in DEMO_MEMBERS)
    staff_logins = ", ".join(f"{email} ({role})" for email, role in DEMO_STAFF)
    return (
        f"portal (development)  {portal_url}/\n"
        f"staff dashboard       {portal_url}/admin/\n"
        f"demo vendor sites — start at the first one and click “Sign in”:\n{vendor_lines}"
        f"sign-ins (demo only, password {DEMO_PASSWORD!r}):\n"
        f"  members  {logins}\n"
        f"  staff    {staff_logins}\n"
        f"vendor API secrets: demo-vendor-secret-<vendor key>\n"
        f"OpenID Connect: {portal_url}/.well-known/openid-configuration, client ID = vendor key, "
        "client secret = its API secret\n"
        f"SAML 2.0: the portal's metadata {portal_url}/saml/metadata\n"
        "Ctrl-C stops everything (the embedded Postgres too); the data stays for the next run."
    )

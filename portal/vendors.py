"""Vendors: registration, domains, returned fields, as stored (what each must be:
portal/vendor_rules.py). Used by the CLI and the dashboard alike."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import access_rules, front_ends, vendor_redirect_uris, vendor_secrets
from portal.errors import Conflict, InvalidField, NotFound
from portal.good_standing import Terms
from portal.models import Member, Vendor, VendorDomain, VendorField, id_of
from portal.urls import InvalidDomain, InvalidURL, check_return_url, normalize_domain
from portal.vendor_rules import (
    DEFAULT_FIELDS,
    LOGOUT_URLS,
    FieldChoice,
    check_domains,
    check_fields,
    check_key,
    check_logout_url,
    check_my_sites,
    check_name,
    check_protocol_token_url,
    check_signout_url,
    check_start_url,
    domain_problem,
)


async def select_vendor_by_key(db: AsyncSession, key: str) -> Vendor | None:
    return (await db.exec(select(Vendor).where(Vendor.key == key))).first()


async def get_vendor(db: AsyncSession, key: str) -> Vendor:
    vendor = await select_vendor_by_key(db, key)
    if vendor is None:
        raise NotFound(f"no vendor with key {key[:63]!r}")
    return vendor


async def select_domains(db: AsyncSession, vendor: Vendor) -> list[str]:
    query = select(VendorDomain.domain).where(VendorDomain.vendor_id == vendor.id)
    return list(await db.exec(query.order_by(col(VendorDomain.domain))))


async def select_fields(db: AsyncSession, vendor: Vendor) -> list[FieldChoice]:
    query = select(VendorField).where(VendorField.vendor_id == vendor.id)
    rows = await db.exec(query.order_by(col(VendorField.position)))
    return [FieldChoice(row.field, row.output_name) for row in rows]


async def replace_fields(db: AsyncSession, vendor: Vendor, choices: Sequence[FieldChoice]) -> None:
    choices = check_fields(choices)
    await db.exec(delete(VendorField).where(col(VendorField.vendor_id) == vendor.id))
    db.add_all(
        VendorField(vendor_id=id_of(vendor), field=c.field, position=i, output_name=c.output_name)
        for i, c in enumerate(choices)
    )
    await db.flush()


@dataclass(frozen=True)
class NewVendor:
    key: str
    name: str
    token_url: str | None  # Enhanced SSO's; None for an OpenID Connect vendor
    domains: Sequence[str]
    signout_url: str | None = None
    fields: Sequence[FieldChoice] = DEFAULT_FIELDS
    start_url: str | None = None
    backchannel_logout_url: str | None = None
    frontchannel_logout_url: str | None = None
    protocol: str = "enhanced"
    public_client: bool = False  # OpenID Connect: an app in the browser, given no secret


async def add_vendor(
    db: AsyncSession, new: NewVendor, *, development: bool
) -> tuple[Vendor, str | None]:
    """Validate everything first, then write; returns the vendor and its first API secret (none
    for a public client: an app in the browser cannot keep one; none for a front end whose
    vendors never use one, SAML's)."""
    key = check_key(new.key)
    name = check_name(new.name)
    token_url = check_protocol_token_url(new.protocol, new.token_url, development=development)
    domains = check_domains(new.domains, development=development)
    signout_url = check_signout_url(new.signout_url, domains, development=development)
    start_url = check_start_url(new.start_url, domains, development=development)
    backchannel_logout_url, frontchannel_logout_url = (
        check_logout_url(field, getattr(new, field), domains, development=development)
        for field in LOGOUT_URLS
    )
    fields = check_fields(new.fields)
    if await select_vendor_by_key(db, key) is not None:
        raise Conflict(f"a vendor with key {key!r} already exists")
    vendor = Vendor(
        key=key,
        name=name,
        protocol=new.protocol,
        # Only a front end whose vendors may go without a secret makes one that has none.
        public_client=new.public_client
        and front_ends.named(new.protocol).vendor_settings.secretless,
        token_url=token_url,
        signout_url=signout_url,
        start_url=start_url,
        backchannel_logout_url=backchannel_logout_url,
        frontchannel_logout_url=frontchannel_logout_url,
    )
    db.add(vendor)
    await db.flush()
    db.add_all(VendorDomain(vendor_id=id_of(vendor), domain=domain) for domain in domains)
    await replace_fields(db, vendor, fields)
    if vendor.public_client or not front_ends.named(new.protocol).vendor_settings.api_secrets:
        return vendor, None
    return vendor, await vendor_secrets.create(db, vendor)


async def select_vendors(db: AsyncSession) -> list[Vendor]:
    return list(await db.exec(select(Vendor).order_by(col(Vendor.name), col(Vendor.key))))


async def select_enabled_vendors(db: AsyncSession) -> list[Vendor]:
    """The sites a member can use, by name: what "My sites" chooses from (`my_sites`)."""
    query = select(Vendor).where(col(Vendor.enabled)).order_by(col(Vendor.name), col(Vendor.key))
    return list(await db.exec(query))


def start_sign_in_url(vendor: Vendor) -> str | None:
    """Where "My sites" sends a member: the vendor's sign-in start page when it has one (it adds
    its own state), else a sign-in its front end can start (Enhanced SSO's /sso/signin, which
    lands on its home), else nowhere: an OpenID Connect vendor's sign-in only the vendor can
    start (its PKCE verifier, state and nonce are its own)."""
    if vendor.start_url:
        return vendor.start_url
    return front_ends.named(vendor.protocol).portal_start(vendor)


@dataclass(frozen=True)
class Site:
    """A vendor's tile on "My sites": its name and where it goes — a link, or (`posted`) a local
    path the tile posts to with the portal's CSRF token; a `coming_soon` tile goes nowhere."""

    name: str
    url: str
    posted: bool = False
    coming_soon: bool = False


async def my_sites(
    db: AsyncSession, sites: Sequence[Vendor], *, member: Member, terms: Terms
) -> list[Site]:
    """The enabled vendors `sites` as "My sites" shows `member` them (the one place that
    decides, for the home and account pages alike): a hidden vendor left out, and one whose
    access rule does not let the member in (access_rules.decide on `terms`; the issue refuses
    them anyway, a tile would only lead to the refusal page), a coming-soon one a tile that goes
    nowhere; the others opened through the portal where their front end says so
    (`my_sites_posts`), else by start_sign_in_url; a vendor with neither is left out."""
    sites = [
        vendor
        for vendor in sites
        if vendor.my_sites != "hidden"
        and access_rules.decide(access_rules.of_vendor(vendor), member, terms).allowed
    ]
    live = [vendor for vendor in sites if vendor.my_sites != "coming-soon"]
    posted: dict[int, str] = {}
    for front_end in front_ends.registered():
        own = [vendor for vendor in live if vendor.protocol == front_end.name]
        if own:
            posted |= await front_end.my_sites_posts(db, own)
    found: list[Site] = []
    for vendor in sites:
        if vendor.my_sites == "coming-soon":
            found.append(Site(vendor.name, "", coming_soon=True))
        elif (path := posted.get(id_of(vendor))) is not None:
            found.append(Site(vendor.name, path, posted=True))
        elif (url := start_sign_in_url(vendor)) is not None:
            found.append(Site(vendor.name, url))
    return found


async def select_all_domains(db: AsyncSession) -> dict[int, list[str]]:
    """{vendor id: its domains, sorted}, for the vendor list."""
    rows = await db.exec(select(VendorDomain).order_by(col(VendorDomain.domain)))
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row.vendor_id, []).append(row.domain)
    return found


def settings_of(vendor: Vendor) -> dict[str, str | bool | None]:
    return {
        "name": vendor.name,
        "token_url": vendor.token_url,
        "signout_url": vendor.signout_url,
        "start_url": vendor.start_url,
        "my_sites": vendor.my_sites,
        "backchannel_logout_url": vendor.backchannel_logout_url,
        "frontchannel_logout_url": vendor.frontchannel_logout_url,
        "backchannel_logout_session_required": vendor.backchannel_logout_session_required,
    }


async def update_vendor(
    db: AsyncSession,
    vendor: Vendor,
    *,
    name: str,
    token_url: str | None,
    signout_url: str | None,
    start_url: str | None = None,
    my_sites: str | None = None,
    development: bool,
    now: datetime,
) -> dict[str, str | bool | None]:
    """Change what staff may change (the key is immutable; `my_sites` None: as it is); returns
    the settings before."""
    before = settings_of(vendor)
    vendor.name = check_name(name)
    vendor.token_url = check_protocol_token_url(vendor.protocol, token_url, development=development)
    domains = await select_domains(db, vendor)
    vendor.signout_url = check_signout_url(signout_url, domains, development=development)
    vendor.start_url = check_start_url(start_url, domains, development=development)
    if my_sites is not None:
        vendor.my_sites = check_my_sites(my_sites)
    vendor.updated_at = now
    db.add(vendor)
    return before


async def set_logout_urls(
    db: AsyncSession,
    vendor: Vendor,
    urls: Mapping[str, str | None],
    *,
    development: bool,
    now: datetime,
    session_required: bool | None = None,
) -> dict[str, str | bool | None]:
    """Set the logout URLs given in `urls` (an empty one removes it) and, given, OpenID
    Connect's backchannel_logout_session_required; returns the settings before. Every URL is
    checked before any is written."""
    before = settings_of(vendor)
    domains = await select_domains(db, vendor)
    checked = {
        field: check_logout_url(field, url, domains, development=development)
        for field, url in urls.items()
        if field in LOGOUT_URLS
    }
    for field, url in checked.items():
        setattr(vendor, field, url)
    if session_required is not None:
        vendor.backchannel_logout_session_required = session_required
    vendor.updated_at = now
    db.add(vendor)
    return before


async def set_enabled(db: AsyncSession, vendor: Vendor, enabled: bool, *, now: datetime) -> None:
    vendor.enabled = enabled
    vendor.updated_at = now
    db.add(vendor)


async def add_domain(db: AsyncSession, vendor: Vendor, text: str, *, development: bool) -> str:
    try:
        domain = normalize_domain(text, development=development)
    except InvalidDomain as exc:
        raise InvalidField("domain", domain_problem(exc)) from None
    if domain in await select_domains(db, vendor):
        raise InvalidField("domain", f"{domain} is already registered for this vendor.")
    db.add(VendorDomain(vendor_id=id_of(vendor), domain=domain))
    await db.flush()
    return domain


async def remove_domain(
    db: AsyncSession, vendor: Vendor, domain: str, *, development: bool
) -> None:
    """Refused when it is the last domain, or when the sign-out or sign-in start page, or an
    address of a front end's settings (OpenID Connect's redirect URIs, a SAML site's
    metadata), would fall outside."""
    domains = await select_domains(db, vendor)
    if domain not in domains:
        raise NotFound(f"{domain[:253]} is not one of this vendor's domains")
    remaining = [d for d in domains if d != domain]
    if not remaining:
        raise Conflict("a vendor needs at least one domain; add another before removing this one")
    for url, what in (
        (vendor.signout_url, "sign-out URL"),
        (vendor.start_url, "sign-in start page"),
        *((getattr(vendor, field), what) for field, what in LOGOUT_URLS.items()),
    ):
        if not url:
            continue
        try:
            check_return_url(url, remaining, development=development)
        except InvalidURL:
            raise Conflict(f"the {what} is on this domain; change the {what} first") from None
    for kind in ("login", "post_logout"):
        for uri in await vendor_redirect_uris.select_redirect_uris(db, vendor, kind):
            try:
                check_return_url(uri, remaining, development=development)
            except InvalidURL:
                raise Conflict(
                    "a sign-in or after-sign-out address of this vendor is on this domain; "
                    "change them under How members sign in first"
                ) from None
    for front_end in front_ends.registered():
        for address in await front_end.vendor_settings.addresses(db, vendor):
            if _within(address, domains, development) and not _within(
                address, remaining, development
            ):
                raise Conflict(
                    f"an address of this vendor's {front_end.label} settings ({address[:200]}) "
                    "is on this domain; change them under How members sign in first"
                )
    await db.exec(
        delete(VendorDomain).where(
            col(VendorDomain.vendor_id) == vendor.id, col(VendorDomain.domain) == domain
        )
    )


def _within(address: str, domains: Sequence[str], development: bool) -> bool:
    try:
        check_return_url(address, domains, development=development)
    except InvalidURL:
        return False
    return True

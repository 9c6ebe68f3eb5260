"""Vendors: registration, domains, returned fields. Used by the CLI and the dashboard alike."""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import front_ends, vendor_secrets
from portal.catalogue import CATALOGUE, DEFAULT_SELECTION, OUTPUT_NAME_PATTERN, SESSION_ID
from portal.errors import Conflict, InvalidField, NotFound, PortalError
from portal.models import (
    VENDOR_KEY_PATTERN,
    Vendor,
    VendorDomain,
    VendorField,
    VendorRedirectUri,
    id_of,
)
from portal.urls import (
    InvalidDomain,
    InvalidURL,
    check_return_url,
    check_vendor_url,
    normalize_domain,
)


@dataclass(frozen=True)
class FieldChoice:
    field: str
    output_name: str | None = None

    @property
    def output(self) -> str:
        return self.output_name or self.field


DEFAULT_FIELDS = tuple(FieldChoice(field) for field in DEFAULT_SELECTION)


def check_key(key: str) -> str:
    if not re.fullmatch(VENDOR_KEY_PATTERN, key):
        raise InvalidField(
            "key",
            "The vendor key must be 2 to 63 characters of a-z, 0-9 and '-', "
            "starting with a letter or digit.",
        )
    return key


def check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidField("name", "The vendor name must be 1 to 200 characters.")
    return name


def sentence(text: str) -> str:
    """A reason from portal.urls ("domain must be …") as a sentence for the form."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def url_problem(what: str, exc: InvalidURL, called: str | None = None) -> str:
    """ "The token URL must use https." (not "token URL: token URL must use https"); `called`
    is how portal.urls names the URL, when the form calls it otherwise."""
    reason = str(exc)
    if called and reason.startswith(called):
        reason = what + reason.removeprefix(called)
    if reason.startswith(what):
        return sentence(f"the {reason}")
    return sentence(f"the {what} is not accepted: {reason}")


def domain_problem(exc: InvalidDomain) -> str:
    """ "The domain must be …" or "co.uk is a public suffix …": a domain keeps its lower case."""
    reason = str(exc)
    return sentence(f"the {reason}") if reason.startswith("domain ") else reason.rstrip(".") + "."


def check_token_url(url: str, *, development: bool) -> str:
    try:
        return check_vendor_url(url, development=development)
    except InvalidURL as exc:
        raise InvalidField("token_url", url_problem("token URL", exc)) from None


def check_protocol(protocol: str) -> str:
    """A front end's name (portal/front_ends.py)."""
    labels = front_ends.labels()
    if protocol not in labels:
        *others, last = labels.values()
        raise InvalidField("protocol", f"Choose {', '.join(others)} or {last}.")
    return protocol


def check_protocol_token_url(protocol: str, url: str | None, *, development: bool) -> str | None:
    """Enhanced SSO posts its token to the token URL, so it needs one; an OpenID Connect vendor
    may keep one (for a switch back) or have none."""
    check_protocol(protocol)
    if not url:
        if protocol == "enhanced":
            raise InvalidField("token_url", "Enhanced SSO needs a token URL.")
        return None
    return check_token_url(url, development=development)


def check_domains(domains: Iterable[str], *, development: bool) -> list[str]:
    checked: list[str] = []
    for text in domains:
        try:
            domain = normalize_domain(text, development=development)
        except InvalidDomain as exc:
            raise InvalidField("domain", domain_problem(exc)) from None
        if domain not in checked:
            checked.append(domain)
    if not checked:
        raise InvalidField("domain", "A vendor needs at least one domain.")
    return checked


def check_signout_url(url: str | None, domains: Sequence[str], *, development: bool) -> str | None:
    """A sign-out landing page is a redirect target, so it obeys the ReturnURL rules."""
    if not url:
        return None
    try:
        return check_return_url(url, domains, development=development)
    except InvalidURL as exc:
        raise InvalidField("signout_url", url_problem("sign-out URL", exc, "ReturnURL")) from None


def check_start_url(url: str | None, domains: Sequence[str], *, development: bool) -> str | None:
    """The vendor's page that starts a sign-in (OIDC's initiate_login_uri): the portal sends
    members there, not straight to a token, so the vendor ties the sign-in to the browser with
    its own state. A redirect target on its domains, like a ReturnURL."""
    if not url:
        return None
    try:
        return check_return_url(url, domains, development=development)
    except InvalidURL as exc:
        raise InvalidField("start_url", f"sign-in start page: {exc}") from None


LOGOUT_URLS = {
    "backchannel_logout_url": "sign-out notification address",
    "frontchannel_logout_url": "sign-out page address",
}


def check_logout_url(
    field: str, url: str | None, domains: Sequence[str], *, development: bool
) -> str | None:
    """A vendor's back-channel logout URL (the portal POSTs to it, server to server) or
    front-channel logout URL (the signed-out page frames it): within the vendor's registered
    domains, like a ReturnURL, so the portal never calls or frames a host registered for no
    vendor; and no fragment (it would never reach the server)."""
    if not url:
        return None
    what = LOGOUT_URLS[field]
    try:
        check_return_url(url, domains, development=development)
    except InvalidURL as exc:
        raise InvalidField(field, url_problem(what, exc, "ReturnURL")) from None
    if "#" in url:
        raise InvalidField(field, sentence(f"the {what} must not contain a fragment (#)"))
    return url


def parse_field_spec(spec: str) -> list[FieldChoice]:
    """`ImisId,Email=email_address,MemberType` -> choices; `=` gives an output name."""
    choices = []
    for item in spec.split(","):
        field, _, output_name = item.strip().partition("=")
        choices.append(FieldChoice(field.strip(), output_name.strip() or None))
    return check_fields(choices)


def field_specs(choices: Sequence[FieldChoice]) -> list[str]:
    """A selection as the audit log and the CLI write it: `Email=email_address` when renamed
    (what parse_field_spec reads back)."""
    return [f"{c.field}={c.output_name}" if c.output_name else c.field for c in choices]


def check_fields(choices: Sequence[FieldChoice]) -> list[FieldChoice]:
    if not choices:
        raise PortalError("choose at least one field")
    fields: set[str] = set()
    outputs: set[str] = set()
    for choice in choices:
        if choice.field not in CATALOGUE:
            raise PortalError(f"unknown field {choice.field[:40]!r}; choose from the catalogue")
        if choice.output_name and not re.fullmatch(OUTPUT_NAME_PATTERN, choice.output_name):
            raise PortalError(
                f"output name {choice.output_name[:70]!r} must be 1-64 letters, digits, "
                "'_', '.' or '-', starting with a letter or '_'"
            )
        if choice.output.lower() == SESSION_ID:
            # Kept for the portal session's id, in any case: some JSON readers ignore case.
            raise PortalError(
                f"no field can be sent as {choice.output!r}: that name is kept for the portal "
                "session's id, which every member object carries"
            )
        if choice.field in fields:
            raise PortalError(f"field {choice.field} is chosen twice")
        if choice.output in outputs:
            raise PortalError(f"two fields would both be sent as {choice.output!r}")
        fields.add(choice.field)
        outputs.add(choice.output)
    return list(choices)


async def select_vendor_by_key(db: AsyncSession, key: str) -> Vendor | None:
    return (await db.exec(select(Vendor).where(Vendor.key == key))).first()


# The two hand-off paths (a silent re-issue, a redemption) read a vendor and all they need of it
# in one statement on a raw connection (db.connection()): there each round trip is a good share
# of the whole request.
VENDOR_COLUMNS = ("id", "key", "name", "token_url", "signout_url", "enabled", "protocol")
WITH_DOMAINS = """
SELECT v.id, v.key, v.name, v.token_url, v.signout_url, v.enabled, v.protocol,
       ARRAY(SELECT d.domain FROM vendor_domain d WHERE d.vendor_id = v.id ORDER BY d.domain)
           AS domains
FROM vendor v WHERE v.key = $1
"""
FOR_THE_API = """
SELECT v.id, v.key, v.name, v.token_url, v.signout_url, v.enabled, v.protocol,
       ARRAY(SELECT s.id FROM vendor_secret s
             WHERE s.vendor_id = v.id AND s.revoked_at IS NULL ORDER BY s.id) AS secret_ids,
       ARRAY(SELECT s.secret_hash FROM vendor_secret s
             WHERE s.vendor_id = v.id AND s.revoked_at IS NULL ORDER BY s.id) AS secret_hashes,
       ARRAY(SELECT s.last_used_at FROM vendor_secret s
             WHERE s.vendor_id = v.id AND s.revoked_at IS NULL ORDER BY s.id) AS secrets_used,
       ARRAY(SELECT f.field FROM vendor_field f WHERE f.vendor_id = v.id ORDER BY f.position)
           AS fields,
       ARRAY(SELECT coalesce(f.output_name, f.field) FROM vendor_field f
             WHERE f.vendor_id = v.id ORDER BY f.position) AS outputs
FROM vendor v WHERE v.key = $1
"""


@dataclass(frozen=True, slots=True)
class VendorRef:
    """A vendor as the hand-off paths read it: a plain record, not an ORM object (building
    those showed in every move between vendor sites)."""

    id: int
    key: str
    name: str
    token_url: str | None  # None for an OpenID Connect vendor
    signout_url: str | None
    enabled: bool
    protocol: str


@dataclass(frozen=True)
class ApiVendor:
    """A vendor as the user service needs it: its active secrets and the fields it receives."""

    vendor: VendorRef
    secrets: list[vendor_secrets.ActiveSecret]
    selection: list[tuple[str, str]]  # (catalogue field, output name), in order


def _vendor(row: Mapping[str, Any]) -> VendorRef:
    return VendorRef(*(row[name] for name in VENDOR_COLUMNS))


async def select_vendor_with_domains(conn: Any, key: str) -> tuple[VendorRef, list[str]] | None:
    row = await conn.fetchrow(WITH_DOMAINS, key)
    return (_vendor(row), list(row["domains"])) if row is not None else None


async def select_vendor_for_api(conn: Any, key: str) -> ApiVendor | None:
    row = await conn.fetchrow(FOR_THE_API, key)
    if row is None:
        return None
    secrets = [
        vendor_secrets.ActiveSecret(*values)
        for values in zip(row["secret_ids"], row["secret_hashes"], row["secrets_used"], strict=True)
    ]
    return ApiVendor(_vendor(row), secrets, list(zip(row["fields"], row["outputs"], strict=True)))


async def select_redirect_uris(db: AsyncSession, vendor: Vendor, kind: str) -> list[str]:
    """An OpenID Connect vendor's registered redirect URIs of `kind` ("login" or
    "post_logout"), in the order registered."""
    query = select(VendorRedirectUri.uri).where(
        VendorRedirectUri.vendor_id == vendor.id, VendorRedirectUri.kind == kind
    )
    return list(await db.exec(query.order_by(col(VendorRedirectUri.id))))


async def set_redirect_uris(
    db: AsyncSession, vendor: Vendor, kind: str, uris: Sequence[str]
) -> None:
    """Replace the vendor's `kind` redirect URIs with `uris` (checked by the caller)."""
    await db.exec(
        delete(VendorRedirectUri).where(
            col(VendorRedirectUri.vendor_id) == vendor.id, col(VendorRedirectUri.kind) == kind
        )
    )
    unique = dict.fromkeys(uris)
    db.add_all(VendorRedirectUri(vendor_id=id_of(vendor), kind=kind, uri=uri) for uri in unique)
    await db.flush()


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
    for a public client: an app in the browser cannot keep one)."""
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
        public_client=new.public_client and new.protocol == "oidc",
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
    if vendor.public_client:
        return vendor, None
    return vendor, await vendor_secrets.create(db, vendor)


async def select_vendors(db: AsyncSession) -> list[Vendor]:
    return list(await db.exec(select(Vendor).order_by(col(Vendor.name), col(Vendor.key))))


async def select_enabled_vendors(db: AsyncSession) -> list[Vendor]:
    """The sites a member can use, by name: the portal home's "My sites"."""
    query = select(Vendor).where(col(Vendor.enabled)).order_by(col(Vendor.name), col(Vendor.key))
    return list(await db.exec(query))


def start_sign_in_url(vendor: Vendor) -> str | None:
    """Where "My sites" sends a member: the vendor's sign-in start page when it has one (it adds
    its own state), else the portal's /sso/signin for an Enhanced vendor, which lands on its
    home. An OpenID Connect vendor without a start page has no link: only the vendor can start
    its sign-in (its PKCE verifier, state and nonce are its own)."""
    if vendor.start_url:
        return vendor.start_url
    return f"/sso/signin?vendor={vendor.key}" if vendor.protocol == "enhanced" else None


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
    development: bool,
    now: datetime,
) -> dict[str, str | bool | None]:
    """Change what staff may change (the key is immutable); returns the settings before."""
    before = settings_of(vendor)
    vendor.name = check_name(name)
    vendor.token_url = check_protocol_token_url(vendor.protocol, token_url, development=development)
    domains = await select_domains(db, vendor)
    vendor.signout_url = check_signout_url(signout_url, domains, development=development)
    vendor.start_url = check_start_url(start_url, domains, development=development)
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
    """Refused when it is the last domain, or when the sign-out or sign-in start page would
    fall outside."""
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
        for uri in await select_redirect_uris(db, vendor, kind):
            try:
                check_return_url(uri, remaining, development=development)
            except InvalidURL:
                raise Conflict(
                    "a sign-in or after-sign-out address of this vendor is on this domain; "
                    "change them under How members sign in first"
                ) from None
    await db.exec(
        delete(VendorDomain).where(
            col(VendorDomain.vendor_id) == vendor.id, col(VendorDomain.domain) == domain
        )
    )

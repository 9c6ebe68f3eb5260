"""A vendor's OpenID Connect registration, as staff make it: the exact addresses the portal may
send members back to, whether it is an app in the browser (no secret), the scopes it may ask
for, refresh tokens, and how its answers are made (`iss` left out for an older sign-in module,
the ID-token signing algorithm). Its rules, read, checked, written and audited as the front
end's vendor settings (portal/front_ends.py's `VendorSettings`, in front_end.py), which the
dashboard and the CLI reach only through the registry (portal/sign_in_methods.py); the protocol
endpoints read what is saved here."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import claims, signing_keys, vendor_redirect_uris
from portal.errors import InvalidField
from portal.models import SIGNING_ALGORITHMS, Vendor
from portal.urls import MAX_URL_LENGTH, InvalidURL, check_return_url

Kind = Literal["login", "post_logout"]
# What each scope lets a site receive, in staff words (portal/claims.py maps the claims).
SCOPE_WORDS: dict[str, str] = {
    claims.OPENID: "Who the member is: an identifier for the member that never changes",
    "profile": "Their name, and the other profile details chosen under Returned fields",
    "email": "Their email address",
    "phone": "Their phone number",
    "address": "Their postal address",
    "membership": "Their membership: member type, status, paid-through date, and whether "
    "their membership is current",
}
# The same, as the member reads them on the consent page (OpenID Connect's prompt=consent): in
# the second person, and without the dashboard's tabs, which members never see.
MEMBER_SCOPE_WORDS: dict[str, str] = {
    claims.OPENID: "Who you are: an identifier for you that never changes",
    "profile": "Your name and profile details",
    "email": "Your email address",
    "phone": "Your phone number",
    "address": "Your postal address",
    "membership": "Your membership: member type, status, paid-through date, and whether it is "
    "current",
    claims.OFFLINE_ACCESS: "Keeping this access while you are away from the site",
}
SCOPES = {scope: SCOPE_WORDS[scope] for scope in claims.SCOPES}  # `openid` always granted
DEFAULT_SCOPES = ("openid", "profile", "email")
MAX_URIS = 10  # of each kind: a site has a few environments, not dozens


@dataclass(frozen=True)
class Registration:
    redirect_uris: Sequence[str]
    post_logout_uris: Sequence[str] = ()
    public_client: bool = False
    scopes: Sequence[str] = DEFAULT_SCOPES
    refresh_tokens: bool = False
    pairwise_subject: bool = False
    omit_iss: bool = False
    id_token_signed_response_alg: str = signing_keys.DEFAULT_ALGORITHM


URI_WORDS: dict[Kind, tuple[str, str]] = {
    "login": ("redirect_uris", "sign-in return address (redirect URI)"),
    "post_logout": ("post_logout_uris", "after-sign-out address (post-logout redirect URI)"),
}


def uri_lines(text: str) -> list[str]:
    """A form's textarea: one address per line, blank lines ignored."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def check_uris(
    texts: Iterable[str], domains: Sequence[str], kind: Kind, *, development: bool
) -> list[str]:
    """Exact addresses (RFC 9700: no wildcards, no patterns), each on one of the vendor's
    domains and under the ReturnURL rules: https outside development, a real host name."""
    name, words = URI_WORDS[kind]
    found: list[str] = []
    for text in texts:
        uri = text.strip()
        problem = uri_problem(uri, domains, development=development)
        if problem:
            raise InvalidField(name, f"{words[:1].upper()}{words[1:]} {uri[:80]}: {problem}")
        if uri not in found:
            found.append(uri)
    if len(found) > MAX_URIS:
        raise InvalidField(name, f"Register at most {MAX_URIS} of each kind of address.")
    return found


def uri_problem(uri: str, domains: Sequence[str], *, development: bool) -> str | None:
    if len(uri) > MAX_URL_LENGTH:
        return f"it is longer than {MAX_URL_LENGTH} characters."
    # A pattern would let anyone with a page that matches it receive members' codes.
    if "*" in uri:
        return "wildcards are not allowed; enter each address exactly."
    # A fragment never reaches the site's server (and OIDC forbids it in redirect URIs).
    if "#" in uri:
        return "remove the part from # on; it is not sent to the site."
    try:
        check_return_url(uri, domains, development=development)
    except InvalidURL as exc:
        reason = str(exc).removeprefix("ReturnURL ")
        if "registered domains" in reason:
            return f"it is not on {' or '.join(domains)}; add its domain first."
        subject = "its" if reason.startswith(("host ", "port ")) else "it"
        return f"{subject} {reason.rstrip('.')}."
    return None


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The allowed scopes, in the catalogue's order, `openid` always among them."""
    chosen = set(scopes) | {"openid"}
    unknown = sorted(chosen - set(SCOPES))
    if unknown:
        raise InvalidField("scopes", f"Unknown scope {unknown[0][:40]!r}.")
    return [scope for scope in SCOPES if scope in chosen]


def check_id_token_alg(alg: str) -> str:
    """Discovery advertises both; a vendor's library checks the one it was told (RS256 unless
    its developers asked otherwise)."""
    if alg not in SIGNING_ALGORITHMS:
        raise InvalidField(
            "id_token_signed_response_alg",
            f"ID tokens are signed with {' or '.join(SIGNING_ALGORITHMS)}, not {alg[:20]!r}.",
        )
    return alg


NAMES = tuple(field.name for field in fields(Registration))


def check(registration: Registration, domains: Sequence[str], *, development: bool) -> Registration:
    """Every rule of each setting (that an OpenID Connect vendor has a sign-in return address
    at all is `needs`, asked only of a vendor that signs in with it)."""
    return replace(
        registration,
        redirect_uris=check_uris(
            registration.redirect_uris, domains, "login", development=development
        ),
        post_logout_uris=check_uris(
            registration.post_logout_uris, domains, "post_logout", development=development
        ),
        scopes=check_scopes(registration.scopes),
        id_token_signed_response_alg=check_id_token_alg(registration.id_token_signed_response_alg),
    )


def needs(_vendor: Vendor | None, values: Mapping[str, Any]) -> None:
    """What a vendor signing in with OpenID Connect needs: a sign-in return address."""
    if not values["redirect_uris"]:
        raise InvalidField(
            "redirect_uris",
            "Enter at least one sign-in return address: the page of the site that receives "
            "members after they sign in (its developers call it the redirect URI).",
        )


async def registration_of(db: AsyncSession, vendor: Vendor) -> Registration:
    return Registration(
        redirect_uris=await vendor_redirect_uris.select_redirect_uris(db, vendor, "login"),
        post_logout_uris=await vendor_redirect_uris.select_redirect_uris(db, vendor, "post_logout"),
        public_client=vendor.public_client,
        scopes=[s for s in vendor.scopes.split() if s in SCOPES],
        refresh_tokens=vendor.refresh_tokens,
        pairwise_subject=vendor.pairwise_subject,
        omit_iss=vendor.omit_iss,
        id_token_signed_response_alg=vendor.id_token_signed_response_alg,
    )


def settings_of(registration: Registration) -> dict[str, object]:
    """What the audit log records of a change."""
    return {
        "redirect_uris": list(registration.redirect_uris),
        "post_logout_uris": list(registration.post_logout_uris),
        "public_client": registration.public_client,
        "scopes": " ".join(registration.scopes),
        "refresh_tokens": registration.refresh_tokens,
        "pairwise_subject": registration.pairwise_subject,
        "omit_iss": registration.omit_iss,
        "id_token_signed_response_alg": registration.id_token_signed_response_alg,
    }


async def write(db: AsyncSession, vendor: Vendor, registration: Registration) -> None:
    """Write a checked registration (the caller adds the vendor to the session)."""
    vendor.public_client = registration.public_client
    vendor.refresh_tokens = registration.refresh_tokens
    vendor.pairwise_subject = registration.pairwise_subject
    vendor.omit_iss = registration.omit_iss
    vendor.id_token_signed_response_alg = registration.id_token_signed_response_alg
    vendor.scopes = " ".join(registration.scopes)
    db.add(vendor)
    await vendor_redirect_uris.set_redirect_uris(db, vendor, "login", registration.redirect_uris)
    await vendor_redirect_uris.set_redirect_uris(
        db, vendor, "post_logout", registration.post_logout_uris
    )


# The same, as the registry's `VendorSettings` takes them: values by setting name.


async def read_values(db: AsyncSession, vendor: Vendor) -> dict[str, Any]:
    return asdict(await registration_of(db, vendor))


def check_values(
    values: Mapping[str, Any], domains: Sequence[str], *, development: bool
) -> dict[str, Any]:
    return asdict(check(Registration(**values), domains, development=development))


async def write_values(db: AsyncSession, vendor: Vendor, values: Mapping[str, Any]) -> None:
    await write(db, vendor, Registration(**values))


def audited(values: Mapping[str, Any]) -> dict[str, object]:
    return settings_of(Registration(**values))

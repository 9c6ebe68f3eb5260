"""What an OpenID Connect vendor learns of a member: the vendor's returned fields (the same
selection the Enhanced member object uses, portal/catalogue.py) as standard OpenID Connect
claims and the association's own, each released only under the scope that covers it.

The one mapping the UserInfo endpoint and the dashboard's preview both read."""

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from portal import good_standing
from portal.catalogue import field_value

OPENID = "openid"
OFFLINE_ACCESS = "offline_access"
# Scopes a vendor may be allowed; `openid` is always required, `offline_access` asks for a
# refresh token and releases no claim.
SCOPES: tuple[str, ...] = (OPENID, "profile", "email", "phone", "address", "membership")
ALL_SCOPES: tuple[str, ...] = (*SCOPES, OFFLINE_ACCESS)


def member_subject(vendor_key: str, pairwise: bool, imis_id: str, pairwise_key: bytes) -> str:
    """The member's `sub` at a vendor (ID tokens, UserInfo, logout tokens): the iMIS ID, or
    with pairwise subjects an opaque value of its own per vendor (OpenID Connect Core §8.1; the
    sector is the vendor's key), so vendors cannot join their records on it."""
    if not pairwise:
        return imis_id
    mac = hmac.new(pairwise_key, f"{vendor_key}\x00{imis_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class Claim:
    field: str  # the catalogue field it comes from
    scope: str
    name: str  # the claim's name; within the `address` claim when `address_part`
    address_part: bool = False


CLAIMS: tuple[Claim, ...] = (
    Claim("FirstName", "profile", "given_name"),
    Claim("LastName", "profile", "family_name"),
    Claim("FullName", "profile", "name"),
    Claim("InformalName", "profile", "nickname"),
    Claim("Username", "profile", "preferred_username"),
    Claim("Prefix", "profile", "honorific_prefix"),
    Claim("Suffix", "profile", "honorific_suffix"),
    Claim("Designation", "profile", "designation"),
    Claim("Company", "profile", "organization"),
    Claim("Title", "profile", "job_title"),
    Claim("Email", "email", "email"),
    Claim("Phone", "phone", "phone_number"),
    Claim("Address1", "address", "street_address", address_part=True),
    Claim("City", "address", "locality", address_part=True),
    Claim("State", "address", "region", address_part=True),
    Claim("PostalCode", "address", "postal_code", address_part=True),
    Claim("Country", "address", "country", address_part=True),
    Claim("ImisId", "membership", "imis_id"),
    Claim("MemberType", "membership", "member_type"),
    Claim("MemberStatus", "membership", "member_status"),
    Claim("JoinDate", "membership", "join_date"),
    Claim("PaidThrough", "membership", "paid_through"),
    Claim("IsMember", "membership", "is_member"),
)
# The portal does not prove that a member controls the address or number on record (iMIS
# keeps them), so it never says it did: a vendor must not link accounts on them unchecked.
VERIFIED_FLAGS = {"email": "email_verified", "phone_number": "phone_number_verified"}


def supported_claims() -> list[str]:
    """Every claim the portal can release, for the discovery document."""
    names = ["sub", *(c.name for c in CLAIMS if not c.address_part), "address"]
    return [*names, *VERIFIED_FLAGS.values()]


def parse_scope(text: str) -> list[str]:
    """A scope parameter's values (space-separated, RFC 6749 §3.3), in order, once each."""
    return list(dict.fromkeys(text.split()))


def member_claims(
    member: Any, fields: Iterable[str], scopes: Iterable[str], terms: good_standing.Terms
) -> dict[str, Any]:
    """The claims of `member` for a vendor that receives `fields` and was granted `scopes`;
    a field with no value is left out (OpenID Connect Core §5.3.2), never sent as null."""
    granted, selected = set(scopes), set(fields)
    found: dict[str, Any] = {}
    address: dict[str, Any] = {}
    for claim in CLAIMS:
        if claim.scope not in granted or claim.field not in selected:
            continue
        value = field_value(member, claim.field, terms)
        if value is None:
            continue
        (address if claim.address_part else found)[claim.name] = value
        if claim.name in VERIFIED_FLAGS:
            found[VERIFIED_FLAGS[claim.name]] = False
    if address:
        found["address"] = address
    return found


def claims_by_scope(fields: Iterable[str]) -> dict[str, list[str]]:
    """{scope: the claims a vendor with these returned fields can receive under it}, for the
    dashboard's preview and the docs."""
    selected = set(fields)
    found: dict[str, list[str]] = {OPENID: ["sub"]}
    for claim in CLAIMS:
        if claim.field in selected:
            name = f"address.{claim.name}" if claim.address_part else claim.name
            found.setdefault(claim.scope, []).append(name)
    return found

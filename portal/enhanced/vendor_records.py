"""A vendor as the two hand-off paths read it (docs/layout.md, "The two hand-off paths"): a
silent re-issue reads it with its domains, a redemption with its secrets and fields."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal import vendor_secrets

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
FOR_THE_API = f"""
SELECT v.id, v.key, v.name, v.token_url, v.signout_url, v.enabled, v.protocol,
       {vendor_secrets.ACTIVE_COLUMNS},
       ARRAY(SELECT f.field FROM vendor_field f WHERE f.vendor_id = v.id ORDER BY f.position)
           AS fields,
       ARRAY(SELECT coalesce(f.output_name, f.field) FROM vendor_field f
             WHERE f.vendor_id = v.id ORDER BY f.position) AS outputs
FROM vendor v WHERE v.key = $1
"""  # noqa: S608 - built from constant SQL; every value is a parameter


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
    return with_domains(row) if row is not None else None


def with_domains(row: Mapping[str, Any]) -> tuple[VendorRef, list[str]]:
    """The vendor and its domains from a row holding WITH_DOMAINS's columns."""
    return _vendor(row), list(row["domains"])


async def select_vendor_for_api(conn: Any, key: str) -> ApiVendor | None:
    row = await conn.fetchrow(FOR_THE_API, key)
    if row is None:
        return None
    secrets = vendor_secrets.active_in(row)
    return ApiVendor(_vendor(row), secrets, list(zip(row["fields"], row["outputs"], strict=True)))

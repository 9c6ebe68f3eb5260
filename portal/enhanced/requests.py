"""Reading a vendor's /sso/signin and /sso/signout request (protocol.md §2, §6, §7)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from portal import reasons
from portal.auth import sessions
from portal.crypto import digest
from portal.enhanced import vendor_records
from portal.enhanced.vendor_records import VendorRef
from portal.errors import PortalError
from portal.urls import InvalidURL, check_return_url

PARAMETERS = ("vendor", "returnurl", "state", "passive")
CANONICAL = {"vendor": "vendor", "returnurl": "ReturnURL", "state": "state", "passive": "passive"}
MAX_STATE = 512
PASSIVE = {"1": True, "true": True, "0": False, "false": False, "": False}


class BadRequest(PortalError):
    """str() is what the member is told; `reason` is the short code kept in the audit log;
    `vendor_key` is set only for a registered vendor, never for a key someone made up."""

    def __init__(self, message: str, reason: str, vendor_key: str | None = None) -> None:
        super().__init__(message, 400)
        self.reason = reason
        self.vendor_key = vendor_key


@dataclass(frozen=True)
class SsoRequest:
    vendor: VendorRef
    token_url: str
    domains: list[str]
    return_url: str | None
    state: str | None
    passive: bool

    def query(self) -> str:
        """The same request as a query string, to continue it after the sign-in form."""
        values = {"vendor": self.vendor.key, "ReturnURL": self.return_url, "state": self.state}
        if self.passive:
            values["passive"] = "1"
        return urlencode({k: v for k, v in values.items() if v is not None})


def known_parameters(args: MultiDict[str, str]) -> dict[str, str]:
    """Our parameters by lower-case name. Names are case-insensitive; a repeated one is refused,
    since two parsers picking different copies is how validation gets bypassed."""
    found: dict[str, str] = {}
    for name, value in args.items(multi=True):
        key = name.lower()
        if key not in PARAMETERS:
            continue
        if key in found:
            raise BadRequest(f"The parameter {CANONICAL[key]} is given more than once.", "repeated")
        found[key] = value
    return found


async def read(conn: Any, args: MultiDict[str, str], *, development: bool) -> SsoRequest:
    """The request, checked; `conn` is a raw connection (db.connection()): the vendor and its
    domains are one round trip."""
    params = known_parameters(args)
    key = params.get("vendor", "")
    found = await vendor_records.select_vendor_with_domains(conn, key) if key else None
    return checked(params, found, development=development)


# A silent re-issue's first round trip: the vendor with its domains, and the portal session the
# browser's cookie names (sessions.FIND, its columns as session_*), each NULL when not found.
SESSION_COLUMNS = ", ".join(f"s.{c} AS {sessions.FOUND_PREFIX}{c}" for c in sessions.FOUND_COLUMNS)
WITH_SESSION = f"""
SELECT v.*, {SESSION_COLUMNS}
FROM (SELECT 1) AS one
LEFT JOIN ({vendor_records.WITH_DOMAINS}) AS v ON true
LEFT JOIN ({sessions.find_statement("$2")}) AS s ON true
"""  # noqa: S608 - built from constant SQL; every value is a parameter


async def read_with_session(
    conn: Any, args: MultiDict[str, str], raw_id: str, *, development: bool
) -> tuple[SsoRequest, Mapping[str, Any]]:
    """read(), with the row of the portal session `raw_id` names (sessions.found_in() reads it,
    with sessions.FOUND_PREFIX), in the same round trip."""
    params = known_parameters(args)
    row = await conn.fetchrow(WITH_SESSION, params.get("vendor", ""), digest(raw_id))
    found = vendor_records.with_domains(row) if row["id"] is not None else None
    return checked(params, found, development=development), row


def checked(
    params: dict[str, str], found: tuple[VendorRef, list[str]] | None, *, development: bool
) -> SsoRequest:
    """The request from its parameters and the vendor they name, with its domains."""
    key = params.get("vendor", "")
    vendor, domains = found or (None, [])
    if vendor is None or not vendor.enabled:
        shown = key[:63] or "(none)"
        known = vendor.key if vendor is not None else None  # a disabled one is still a vendor
        raise BadRequest(
            f"There is no active vendor called “{shown}”.", reasons.UNKNOWN_VENDOR, known
        )
    if vendor.protocol != "enhanced" or vendor.token_url is None:
        raise BadRequest(
            f"{vendor.name} signs members in with OpenID Connect, not Enhanced SSO.",
            "wrong_protocol",
            vendor.key,
        )
    return SsoRequest(
        vendor=vendor,
        token_url=vendor.token_url,
        domains=domains,
        return_url=_return_url(params.get("returnurl"), vendor, domains, development),
        state=_state(params.get("state"), vendor),
        passive=_passive(params.get("passive", ""), vendor),
    )


def _return_url(
    url: str | None, vendor: VendorRef, domains: list[str], development: bool
) -> str | None:
    if not url:
        return None
    try:
        return check_return_url(url, domains, development=development)
    except InvalidURL as exc:
        raise BadRequest(
            f"The ReturnURL is not allowed for {vendor.name}: {exc}.", "return_url", vendor.key
        ) from None


def _state(state: str | None, vendor: VendorRef) -> str | None:
    if not state:
        return None
    if len(state) > MAX_STATE or not all(" " <= ch <= "~" for ch in state):
        raise BadRequest(
            f"The state must be at most {MAX_STATE} printable ASCII characters.",
            "state",
            vendor.key,
        )
    return state


def _passive(value: str, vendor: VendorRef) -> bool:
    if value.lower() not in PASSIVE:
        raise BadRequest("passive must be 1, true, 0 or false.", "passive", vendor.key)
    return PASSIVE[value.lower()]

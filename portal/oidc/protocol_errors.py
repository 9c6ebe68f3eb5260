"""How the OpenID Connect endpoints refuse: JSON errors of RFC 6749 §5.2 at the token endpoint,
bearer-token errors of RFC 6750 at UserInfo, and errors of the authorization endpoint — sent to
the vendor's registered redirect URI when it is known to be the vendor's, else a 400 page."""

from dataclasses import dataclass, field

from portal.errors import PortalError
from portal.models import Vendor

JSON_ENDPOINTS = ("/oidc/token", "/oidc/revoke", "/oidc/userinfo")
# The error_description of a refusal by the vendor's access rule (portal/access_rules.py), at the
# authorization, token and UserInfo endpoints alike: the vendor learns why, in plain words.
ACCESS_RULE_REFUSED = "The member may not use this site: its access rule does not let them in."


class OAuthError(Exception):
    """A JSON error answer: `error` is the protocol's code ("" for none), str() its
    description."""

    def __init__(self, status: int, error: str, description: str, **headers: str) -> None:
        super().__init__(description)
        self.status, self.error, self.headers = status, error, headers

    def body(self) -> dict[str, str]:
        code = {"error": self.error} if self.error else {}
        return {**code, "error_description": str(self)}


def too_many(retry_after: int) -> OAuthError:
    """Over a per-minute budget (portal/api_budgets.py). RFC 6749 names no error for it at the
    token endpoint, and RFC 8628's `slow_down` tells a device-flow client to poll more slowly,
    which no client here does: `temporarily_unavailable` (RFC 6749 §4.1.2.1: "try again later")
    says what is meant, and the 429 with Retry-After says when (docs/oidc.md)."""
    return OAuthError(
        429,
        "temporarily_unavailable",
        f"Too many requests this minute; try again in {retry_after} seconds.",
        **{"Retry-After": str(retry_after)},
    )


class BadAuthorization(PortalError):
    """An authorization request that cannot be answered at a redirect URI (unknown client,
    unregistered redirect URI): the member sees this 400 page, and nobody is redirected.
    `reason` is kept in the audit log, `vendor_key` only for a registered vendor."""

    title = "This sign-in link can't be used"

    def __init__(self, message: str, reason: str, vendor_key: str | None = None) -> None:
        super().__init__(message, 400)
        self.reason, self.vendor_key = reason, vendor_key


@dataclass
class RedirectError(Exception):
    """An error for the vendor, sent to its (checked) redirect URI (RFC 6749 §4.1.2.1); the
    request's reader fills in where it goes once the redirect URI is known to be registered."""

    error: str
    description: str
    reason: str = ""
    vendor: Vendor | None = None
    redirect_uri: str = ""
    response_mode: str = "query"
    state: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

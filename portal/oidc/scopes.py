"""What a token gives, as of now: the scope the member's grant holds, narrowed when a refresh asks
for less (RFC 6749 §6: narrower only), and kept within what the vendor may have today — staff may
have taken a scope, or the refresh switch, away since the member signed in."""

from typing import Protocol

from portal import claims


class Offer(Protocol):
    """What of a vendor says which scopes it may have (a Vendor, or UserInfo's plain record)."""

    @property
    def scopes(self) -> str: ...
    @property
    def refresh_tokens(self) -> bool: ...


class NotGranted(Exception):
    """A refresh asked for a scope its grant does not hold (RFC 6749 §5.2: invalid_scope)."""


def allowed(vendor: Offer) -> frozenset[str]:
    """The scopes the vendor may have today: those staff ticked, `openid`, and `offline_access`
    while its refresh switch is on."""
    found = {*claims.parse_scope(vendor.scopes), claims.OPENID}
    if vendor.refresh_tokens:
        found.add(claims.OFFLINE_ACCESS)
    return frozenset(found)


def granted(grant_scope: str, vendor: Offer, asked: str | None = None) -> str:
    """The scope a token issued now gives, in the grant's order. `asked` is a refresh's `scope`
    (None or empty: all the grant holds); `openid` always stays, since every answer names the
    member by `sub`."""
    held = claims.parse_scope(grant_scope)
    if asked:
        wanted = claims.parse_scope(asked)
        beyond = [scope for scope in wanted if scope not in held]
        if beyond:
            raise NotGranted(f"The scope {beyond[0][:60]} was not granted; ask for it or less.")
        held = [scope for scope in held if scope in wanted or scope == claims.OPENID]
    today = allowed(vendor)
    return " ".join(scope for scope in held if scope in today)

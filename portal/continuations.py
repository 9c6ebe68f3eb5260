"""Where a member's sign-in continues: the protocol request that sent the member to the portal's
own pages (the sign-in page, a password reset), as a local path the portal can resume.

The sign-in page is shared by every protocol front end, so it does not parse their requests; it
carries the request on as `next` and, after the sign-in, sends the browser back to it, where the
front end validates the request again. Only a protocol's entry path on this origin passes (each
front end names its own: portal/front_ends.py), never another origin or page (no open redirect:
`next` comes from the browser)."""

from urllib.parse import parse_qsl, urlsplit

from portal import front_ends

MAX_LENGTH = 8192
# A front end's mark on a continuation that needs a sign-in made after the request (OpenID
# Connect's prompt=login and max_age): the sign-in page then asks even a signed-in member.
FRESH_SIGN_IN = "login_after"
MAX_LOGIN_HINT = 254


def checked(value: str | None) -> str | None:
    """`value` when it is a protocol request on this origin, else None."""
    if not value or len(value) > MAX_LENGTH:
        return None
    # Control characters, spaces and backslashes are how browsers are talked into another host.
    if any(ord(char) <= 0x20 or char == "\\" for char in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.fragment or parts.path not in front_ends.entry_paths():
        return None
    return value


def vendor_key(continuation: str) -> str | None:
    """The vendor a continuation is for (Enhanced `vendor`, OpenID Connect `client_id`), so the
    page can name it; display only, the front end checks the request itself."""
    query = dict(parse_qsl(urlsplit(continuation).query))
    return query.get("vendor") or query.get("client_id")


def login_hint(continuation: str) -> str:
    """The username the request suggests (OpenID Connect `login_hint`), to pre-fill the form."""
    hint = dict(parse_qsl(urlsplit(continuation).query)).get("login_hint", "").strip()
    return hint[:MAX_LOGIN_HINT]


def asks_fresh_sign_in(continuation: str) -> bool:
    """Whether the request wants the member to sign in again even with a portal session."""
    return FRESH_SIGN_IN in dict(parse_qsl(urlsplit(continuation).query))

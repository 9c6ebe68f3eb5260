"""HTTP Basic credentials (RFC 7617), from whatever bytes a client put in the header."""

from werkzeug.datastructures import Authorization


def authorization(header: str | None) -> Authorization | None:
    """The parsed `Authorization` header, or None when there is none or it cannot be one.

    Basic credentials are base64, so pure ASCII; a header value reaches us as latin-1, and
    werkzeug's parser raises (a 500) on a non-ASCII one instead of returning None."""
    if not header or not header.isascii():
        return None
    return Authorization.from_header(header)

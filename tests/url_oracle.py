"""Shared by the tests of portal/urls.py: the vendor domain, the dangerous characters, and an
independent, WHATWG-style reading of where a browser would go (the oracle of the properties)."""

import re
import unicodedata
from urllib.parse import unquote

import httpx
from hypothesis import settings

from portal.urls import (
    InvalidURL,
    check_return_url,
)

D = "example-vendor.com"
FUZZ = settings(max_examples=300, deadline=None)
DEFAULT_PORTS = {"http": 80, "https": 443}
# Everything a ReturnURL must never contain: backslash, C0, space, DEL, C1, Unicode spaces,
# line/paragraph separators, zero-width, bidi and byte-order marks.
DANGEROUS = [chr(c) for c in range(0x21)] + [
    *"\\\x7f\x80\x85\x9f\xa0\u1680\u2000\u200a\u200b\u200c\u200d\u200e\u200f",
    *"\u202a\u202e\u2028\u2029\u2066\u2069\u3000\ufeff\u3002\uff0e\uff0f\uff20",
]


def accepts(url: str, domains: list[str] | None = None, *, development: bool = False) -> bool:
    try:
        result = check_return_url(url, [D] if domains is None else domains, development=development)
    except InvalidURL:
        return False
    assert result == url
    return True


def browser_view(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) a WHATWG URL parser gives `url` for http(s), with the steps that
    matter here: strip C0 and space, drop tab/CR/LF, "\\" as "/", any number of slashes after
    the scheme, the last "@" ends the user-info, percent-decoding and IDNA-style mapping of the
    host, default port as None. None when `url` is not an absolute http(s) URL."""
    url = url.strip("".join(map(chr, range(0x21))))
    url = re.sub(r"[\t\n\r]", "", url)
    match = re.fullmatch(r"([A-Za-z][A-Za-z0-9+.-]*):(.*)", url, re.DOTALL)
    if not match or match.group(1).lower() not in DEFAULT_PORTS:
        return None
    scheme, rest = match.group(1).lower(), match.group(2).lstrip("/\\")
    authority = re.split(r"[/\\?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    if authority.startswith("["):
        host, _, port_text = authority.partition("]")
        port_text = port_text.removeprefix(":")
        host += "]"
    else:
        host, _, port_text = authority.partition(":")
    host = unquote(host)
    for dot in "\u3002\uff0e\uff61":
        host = host.replace(dot, ".")
    host = unicodedata.normalize("NFKC", host).lower()
    port = int(port_text) if port_text.isdigit() else None
    return scheme, host, None if port == DEFAULT_PORTS[scheme] else port


def assert_lands_within(url: str, domain: str) -> None:
    """The oracle: an accepted ReturnURL takes every parser to https on `domain`, default port."""
    assert not any(char in url for char in DANGEROUS)
    assert not any(char.isspace() or unicodedata.category(char)[0] in "CZ" for char in url)
    view = browser_view(url)
    assert view is not None
    scheme, host, port = view
    assert scheme == "https"
    assert port is None
    assert host == domain or host.endswith("." + domain)
    parsed = httpx.URL(url)
    assert parsed.scheme == "https"
    assert parsed.port in (None, 443)
    assert parsed.host == domain or parsed.host.endswith("." + domain)


def csp_allows(sources: list[str], url: str) -> bool:
    """CSP level 3 host-source matching, for the source forms form_action_sources emits."""
    view = browser_view(url)
    assert view is not None
    scheme, host, port = view
    for source in sources:
        match = re.fullmatch(r"(https?)://(\*\.)?([^:*]+)(?::(\*|[0-9]+))?", source)
        assert match, source
        source_scheme, wildcard, source_host, source_port = match.groups()
        # secure upgrade: an http source also matches https
        scheme_ok = scheme == source_scheme or (source_scheme, scheme) == ("http", "https")
        host_ok = host.endswith("." + source_host) if wildcard else host == source_host
        effective = port if port is not None else DEFAULT_PORTS[scheme]
        port_ok = (
            source_port == "*"
            or (source_port is None and port is None)
            or (source_port is not None and int(source_port) == effective)
        )
        if scheme_ok and host_ok and port_ok:
            return True
    return False

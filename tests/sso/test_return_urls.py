"""portal.sso.return_urls: protocol §6 table, known bypass classes, and fuzzing.

Advisories whose bypass classes are reproduced below (ids name them where a case comes from one):
- Django ``is_safe_url`` / ``url_has_allowed_host_and_scheme``: CVE-2013-6044 (``javascript:``),
  CVE-2014-3730 (``http:\\\\host``), CVE-2015-0220 (leading whitespace), CVE-2015-2317 (leading
  control character), CVE-2016-2512 (``host\\@evil``), CVE-2017-7233 (numeric URLs),
  CVE-2018-14574 (``//evil.com``).
- Keycloak ``redirect_uri``: CVE-2022-3782 (double URL encoding), CVE-2023-6291 (bypass of
  explicitly allowed hosts), CVE-2023-6134 / CVE-2023-6927 (wildcard redirect URIs; here only
  whole-label subdomains are "wildcards", and the path is the vendor's own business),
  CVE-2024-1132 (path traversal such as ``..;/``), CVE-2024-8883 (``http://localhost:80@evil``),
  CVE-2026-7504 (several ``@`` in the user-info), CVE-2026-9086 (``JavaScript:`` in mixed case),
  CVE-2026-18211 (``http://localhost`` prefix check admitting ``localhost.evil.test``).
- Werkzeug / Flask: CVE-2020-28724 (``//`` open redirect), Flask-Security-Too
  GHSA-672h-6x89-76m5 (``/\\evil.com`` and ``\\/evil.com``).

``browser_view`` below is an independent, WHATWG-style reading of where a browser would go; it
shares no code with the module and serves as the oracle for the property tests.
"""

import contextlib
import re
import unicodedata
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.sso.return_urls import (
    MAX_URL_LENGTH,
    InvalidDomain,
    InvalidURL,
    check_return_url,
    check_vendor_url,
    form_action_sources,
    normalize_domain,
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


# --- protocol §6 table ----------------------------------------------------------------------

PROTOCOL_ACCEPT = [
    "https://example-vendor.com/",
    "https://www.example-vendor.com/account?x=1#top",
    "https://example-vendor.com:443/ok",
    "https://example-vendor.com/path/https://evil.com",
]
PROTOCOL_REJECT = [
    "http://example-vendor.com/",
    "https://example-vendor.com.evil.com/",
    "https://evil-example-vendor.com/",
    "https://example-vendor.com@evil.com/",
    "https://evil.com\\@example-vendor.com/",
    "//evil.com/",
    "/\\evil.com",
    "https:evil.com",
    " https://evil.com",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://example-vendor.com:8443/",
    "https://example-vendor.com.",
    "https://[::1]/",
]


@pytest.mark.parametrize("url", PROTOCOL_ACCEPT)
def test_protocol_table_accepts(url: str) -> None:
    assert accepts(url)
    assert_lands_within(url, D)


@pytest.mark.parametrize("url", PROTOCOL_REJECT)
def test_protocol_table_rejects(url: str) -> None:
    assert not accepts(url)


def test_reasons_are_short_and_do_not_echo_the_url() -> None:
    with pytest.raises(InvalidURL, match=r"^ReturnURL must use https$"):
        check_return_url("http://example-vendor.com/<b>", [D], development=False)
    with pytest.raises(InvalidURL) as caught:
        check_return_url("https://evil.com/<script>", [D], development=False)
    assert str(caught.value) == "ReturnURL is not within the vendor's registered domains"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://example-vendor.com:443@evil.com/", "user info"),
        ("https://evil.com\\@example-vendor.com/", "backslashes"),
        ("https://example-vendor.com/a b", "spaces, control or non-ASCII"),
        ("https://example-vendor\u3002com/", "spaces, control or non-ASCII"),
        ("https:evil.com", "absolute URL starting with https://"),
        ("javascript:alert(1)", "absolute URL starting with https://"),
        ("https://[::1]/", "not an IP address"),
        ("https://0x7f.1/", "not an IP address"),
        ("https://example-vendor.com./", "must not end with a dot"),
        ("https://example-vendor.com%2eevil.com/", "percent-encoded"),
        ("https://a..example-vendor.com/", "valid domain name"),
        ("https://example-vendor.com:8443/", "port other than 443"),
        ("https://localhost/", "only in development"),
        ("https://" + "a" * 2050, "longer than 2048"),
    ],
)
def test_rejection_reasons(url: str, reason: str) -> None:
    with pytest.raises(InvalidURL, match=re.escape(reason)):
        check_return_url(url, [D], development=False)


# --- bypass classes from real advisories ----------------------------------------------------

BYPASS_REJECT = {
    # backslashes, in every position
    "django-CVE-2014-3730-scheme-backslashes": "https:\\\\evil.com",
    "django-CVE-2016-2512-backslash-at": "https://example-vendor.com\\@evil.com",
    "flask-security-GHSA-672h-slash-backslash": "/\\evil.com",
    "flask-security-GHSA-672h-backslash-slash": "\\/evil.com",
    "backslash-double": "\\\\evil.com",
    "backslash-after-slashes": "https://\\evil.com",
    "backslash-half-slash": "https:/\\evil.com",
    "backslash-in-host": "https://example-vendor.com\\.evil.com/",
    "backslash-in-path": "https://example-vendor.com/\\evil.com",
    "backslash-in-query": "https://example-vendor.com/?next=\\evil",
    "backslash-in-fragment": "https://example-vendor.com/#\\",
    # user-info
    "userinfo-vendor-as-user": "https://example-vendor.com@evil.com/",
    "userinfo-on-vendor-host": "https://user:pass@example-vendor.com/",
    "userinfo-empty": "https://@example-vendor.com/",
    "keycloak-CVE-2024-8883-port-at": "https://example-vendor.com:443@evil.com/",
    "keycloak-CVE-2026-7504-many-at": "https://a@example-vendor.com@evil.com/",
    "userinfo-encoded-slash": "https://evil.com%2f@example-vendor.com/",
    # percent-encoding in the host (browsers decode it)
    "encoded-dot": "https://example-vendor.com%2eevil.com/",
    "encoded-dot-upper": "https://example-vendor.com%2Eevil.com/",
    "encoded-at": "https://example-vendor.com%40evil.com/",
    "encoded-backslash": "https://example-vendor.com%5c.evil.com/",
    "encoded-nul": "https://example-vendor.com%00.evil.com/",
    "keycloak-CVE-2022-3782-double-encoding": "https://example-vendor.com%252eevil.com/",
    "encoded-letter": "https://%65xample-vendor.com/",
    # Unicode look-alikes and IDN homographs
    "ideographic-full-stop": "https://example-vendor\u3002com/",
    "fullwidth-full-stop": "https://example-vendor\uff0ecom/",
    "halfwidth-ideographic-full-stop": "https://example-vendor\uff61com/",
    "fullwidth-e": "https://\uff45xample-vendor.com/",
    "cyrillic-ie-homograph": "https://\u0435xample-vendor.com/",
    "fullwidth-solidus": "https://evil.com\uff0fexample-vendor.com/",
    "fullwidth-commercial-at": "https://example-vendor.com\uff20evil.com/",
    "unregistered-punycode": "https://xn--xample-vendor-xyz.com/",
    "non-ascii-in-path": "https://example-vendor.com/caf\u00e9",
    # IP literals
    "ipv4": "https://127.0.0.1/",
    "ipv4-decimal": "https://2130706433/",
    "ipv4-hex": "https://0x7f000001/",
    "ipv4-octal": "https://0177.0.0.1/",
    "ipv4-hex-short": "https://0x7f.1/",
    "ipv4-short": "https://127.1/",
    "ipv4-public": "https://1.2.3.4/",
    "ipv4-trailing-number-label": "https://example-vendor.com.1/",
    "django-CVE-2017-7233-numeric": "https:999999999",
    "ipv6-loopback": "https://[::1]/",
    "ipv6-with-port": "https://[::1]:443/",
    "ipv6-v4-mapped": "https://[::ffff:127.0.0.1]/",
    "ipv6-v4-mapped-hex": "https://[::ffff:7f00:1]/",
    "ipv6-unclosed": "https://[::1/",
    # dots
    "trailing-dot": "https://example-vendor.com./",
    "trailing-dot-subdomain": "https://www.example-vendor.com./x",
    "trailing-dots": "https://example-vendor.com../",
    "leading-dot": "https://.example-vendor.com/",
    "empty-label": "https://www..example-vendor.com/",
    # scheme tricks
    "one-slash": "https:/example-vendor.com/",
    "three-slashes": "https:///evil.com",
    "no-slashes-vendor": "https:example-vendor.com",
    "uppercase-http": "HTTP://example-vendor.com/",
    "django-CVE-2013-6044-javascript": "javascript:alert(1)",
    "keycloak-CVE-2026-9086-mixed-case-javascript": "JavaScript:alert(1)",
    "javascript-with-authority": "javascript://example-vendor.com/%0aalert(1)",
    "data": "data:text/html;base64,PHNjcmlwdD4=",
    "vbscript": "vbscript:msgbox(1)",
    "ftp": "ftp://example-vendor.com/",
    "wss": "wss://example-vendor.com/",
    "werkzeug-CVE-2020-28724-scheme-relative": "//evil.com/",
    "django-CVE-2018-14574-scheme-relative-vendor": "//example-vendor.com/",
    "relative-path": "/account",
    "empty": "",
    "scheme-only": "https:",
    "missing-host": "https://",
    "missing-host-slash": "https:///",
    "missing-host-port": "https://:443/",
    # ports
    "port-empty": "https://example-vendor.com:/",
    "port-0": "https://example-vendor.com:0/",
    "port-80": "https://example-vendor.com:80/",
    "port-8443": "https://example-vendor.com:8443/",
    "port-65536": "https://example-vendor.com:65536/",
    "port-plus": "https://example-vendor.com:+443/",
    "port-leading-zero": "https://example-vendor.com:0443/",
    "port-negative": "https://example-vendor.com:-443/",
    "port-twice": "https://example-vendor.com:443:443/",
    "port-then-host": "https://example-vendor.com:443.evil.com/",
    "port-fullwidth-digits": "https://example-vendor.com:\uff14\uff14\uff13/",
    # look-alike hosts: the host-confusion class behind Keycloak CVE-2023-6291
    "suffix-appended": "https://example-vendor.com.evil.com/",
    "prefix-joined": "https://evilexample-vendor.com/",
    "prefix-hyphen": "https://evil-example-vendor.com/",
    "suffix-hyphen": "https://example-vendor.com-evil.com/",
    "suffix-joined": "https://example-vendor.comevil.com/",
    "other-tld": "https://example-vendor.co/",
    "semicolon-host": "https://evil.com;.example-vendor.com/",
    "ampersand-host": "https://evil.com&.example-vendor.com/",
    "underscore-label": "https://a_b.example-vendor.com/",
    "label-too-long": "https://" + "a" * 64 + ".example-vendor.com/",
    # parser differentials: the vendor domain only after the authority has ended
    "fragment-dot": "https://evil.com#.example-vendor.com",
    "fragment-at": "https://evil.com#@example-vendor.com",
    "path-dot": "https://evil.com/.example-vendor.com",
    "query-dot": "https://evil.com?.example-vendor.com",
    "localhost-in-production": "https://localhost/",
    "keycloak-CVE-2026-18211-localhost-prefix": "http://localhost.evil.com/",
}

# The vendor's host stays the destination; what follows the authority is the vendor's business.
BYPASS_ACCEPT = {
    "fragment-at-evil": "https://example-vendor.com#@evil.com",
    "query-at-evil": "https://example-vendor.com?@evil.com",
    "path-at-evil": "https://example-vendor.com/@evil.com",
    "path-double-slash": "https://example-vendor.com//evil.com",
    "keycloak-CVE-2024-1132-path-traversal": "https://example-vendor.com/..;/..//evil.com",
    "keycloak-CVE-2022-3782-encoded-path": "https://example-vendor.com/%2e%2e/%2f%2fevil.com",
    "encoded-nul-in-path": "https://example-vendor.com/%00",
    "encoded-backslash-in-query": "https://example-vendor.com/?u=%5cevil.com",
    "upper-case-host": "https://WWW.Example-Vendor.COM/",
    "upper-case-scheme": "HTTPS://example-vendor.com/",
    "no-path": "https://example-vendor.com",
    "deep-subdomain": "https://a.b-c.d1.example-vendor.com/",
    "punycode-subdomain": "https://xn--80ak6aa92e.example-vendor.com/",
    "empty-query-and-fragment": "https://example-vendor.com/?#",
}


@pytest.mark.parametrize("url", BYPASS_REJECT.values(), ids=BYPASS_REJECT.keys())
def test_bypass_rejected(url: str) -> None:
    assert not accepts(url)
    assert not accepts(url, development=True)


@pytest.mark.parametrize("url", BYPASS_ACCEPT.values(), ids=BYPASS_ACCEPT.keys())
def test_bypass_lookalike_accepted_when_it_stays_on_the_vendor(url: str) -> None:
    assert accepts(url)
    assert_lands_within(url, D)


@pytest.mark.parametrize("char", DANGEROUS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("position", [0, 6, 8, 15, 26, 31], ids=lambda p: f"at-{p}")
def test_dangerous_character_rejected_anywhere(char: str, position: int) -> None:
    url = "https://www.example-vendor.com/path"
    assert accepts(url)
    assert not accepts(url[:position] + char + url[position:])


def test_length_limit() -> None:
    base = "https://example-vendor.com/"
    longest = base + "a" * (MAX_URL_LENGTH - len(base))
    assert len(longest) == 2048
    assert accepts(longest)
    assert not accepts(longest + "a")


def test_international_domain_matches_only_in_punycode() -> None:
    domains = ["xn--bcher-kva.ch"]
    assert accepts("https://shop.xn--bcher-kva.ch/", domains)
    assert not accepts("https://shop.b\u00fccher.ch/", domains)


def test_several_domains_and_no_domains() -> None:
    domains = ["acme-learning.com", "acme.co.uk"]
    assert accepts("https://learn.acme.co.uk/", domains)
    assert accepts("https://acme-learning.com/", domains)
    assert not accepts("https://co.uk/", domains)
    assert not accepts("https://example-vendor.com/", [])


def test_registered_domain_compared_in_lower_case() -> None:
    assert accepts("https://www.example-vendor.com/", ["Example-Vendor.COM"])


# --- development mode (§8) -----------------------------------------------------------------

DEV_ACCEPT = [
    ("http://localhost:5001/x", "localhost"),
    ("http://localhost/", "localhost"),
    ("https://localhost:8443/x?y=1#z", "localhost"),
    ("HTTP://LOCALHOST:5001/", "localhost"),
    ("http://127.0.0.1:8000/", "127.0.0.1"),
    ("https://127.0.0.1/", "127.0.0.1"),
    ("http://localhost:65535/", "localhost"),
]
DEV_REJECT = [
    ("http://localhost.evil.com/", "localhost"),
    ("http://localhost:5001@evil.com/", "localhost"),
    ("http://app.localhost:5001/", "localhost"),
    ("http://127.0.0.1.evil.com/", "127.0.0.1"),
    ("http://evil.127.0.0.1/", "127.0.0.1"),
    ("http://127.1:8000/", "127.0.0.1"),
    ("http://2130706433:8000/", "127.0.0.1"),
    ("http://[::1]:8000/", "localhost"),
    ("http://localhost:8000/", "127.0.0.1"),
    ("http://127.0.0.1:8000/", "localhost"),
    ("http://localhost:0/", "localhost"),
    ("http://localhost:65536/", "localhost"),
    ("http://localhost:/", "localhost"),
    ("http://localhost:05001/", "localhost"),
    ("http://localhost:+5001/", "localhost"),
    ("http://localhost\\@evil.com/", "localhost"),
    ("http://example-vendor.com/", D),
]


@pytest.mark.parametrize(("url", "domain"), DEV_ACCEPT)
def test_development_loopback_accepted_only_in_development(url: str, domain: str) -> None:
    assert accepts(url, [domain], development=True)
    assert not accepts(url, [domain], development=False)


@pytest.mark.parametrize(("url", "domain"), DEV_REJECT)
def test_development_rejects(url: str, domain: str) -> None:
    assert not accepts(url, [domain], development=True)


def test_development_keeps_production_rules_for_other_domains() -> None:
    assert accepts("https://www.example-vendor.com/", [D, "localhost"], development=True)
    assert not accepts("http://www.example-vendor.com/", [D, "localhost"], development=True)
    assert not accepts("https://example-vendor.com:8443/", [D], development=True)


# --- property-based -------------------------------------------------------------------------

LABELS = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
SAFE_TAIL = st.from_regex(
    r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]{0,10}){0,3}"
    r"(\?[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,10})?(#[A-Za-z0-9._~!$&'()*+,;=:@/?#%-]{0,10})?",
    fullmatch=True,
)
URL_CHARS = "abcxyz019.-_~/?#@:%;&=+[]\\" + D


@st.composite
def subdomain_urls(draw: st.DrawFn) -> str:
    host = ".".join([*draw(st.lists(LABELS, max_size=3)), D])
    host = draw(st.sampled_from([host, host.upper(), host.title()]))
    scheme = draw(st.sampled_from(["https", "HTTPS", "Https"]))
    port = draw(st.sampled_from(["", ":443"]))
    return f"{scheme}://{host}{port}{draw(SAFE_TAIL)}"


AROUND_DOMAIN = st.text(alphabet=URL_CHARS + "".join(DANGEROUS[::3]), max_size=6)
# One part of a good URL swapped for a hostile value; the generator applies one to three swaps.
PART_SWAPS = st.one_of(
    st.sampled_from(
        [("scheme", s) for s in ("HTTPS", "http", "javascript", "data", "")]
        + [("separator", s) for s in (":/", ":", ":///", "//", ":\\\\", "://\\", ":/\\")]
        + [("userinfo", s) for s in ("user@", f"{D}@", "evil.com@", "@", "a:b@", "a@b@")]
        + [("host", s) for s in ("evil.com", "2130706433", "0x7f.1", "[::1]", f"{D}.")]
        + [("port", s) for s in (":", ":443", ":80", ":0443", ":+443", ":8443", ":443@x.io")]
    ),
    st.tuples(
        st.just("host"), st.builds("{}{}{}".format, AROUND_DOMAIN, st.just(D), AROUND_DOMAIN)
    ),
    st.tuples(st.just("tail"), st.text(alphabet=URL_CHARS, max_size=20)),
)


@st.composite
def hostile_urls(draw: st.DrawFn) -> str:
    """A good URL with one to three parts swapped for hostile ones, and maybe a dangerous char."""
    parts = {
        "scheme": "https",
        "separator": "://",
        "userinfo": "",
        "host": ".".join([*draw(st.lists(LABELS, max_size=2)), D]),
        "port": "",
        "tail": draw(SAFE_TAIL),
    }
    parts.update(draw(st.lists(PART_SWAPS, min_size=1, max_size=3)))
    url = "".join(parts.values())
    if draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(url)))
        url = url[:at] + draw(st.sampled_from(DANGEROUS)) + url[at:]
    return url


@FUZZ
@given(subdomain_urls())
def test_property_every_subdomain_with_a_safe_tail_is_accepted(url: str) -> None:
    assert accepts(url)
    assert_lands_within(url, D)
    assert csp_allows(form_action_sources(f"https://sso.{D}/token", [D]), url)


@FUZZ
@given(hostile_urls())
def test_property_accepted_urls_land_within_the_domain(url: str) -> None:
    if accepts(url):
        assert_lands_within(url, D)


@FUZZ
@given(st.text(alphabet=URL_CHARS, max_size=8), st.text(alphabet=URL_CHARS, max_size=8))
def test_property_domain_as_a_mere_substring_is_rejected(prefix: str, suffix: str) -> None:
    url = f"https://{prefix}{D}{suffix}/"
    view = browser_view(url)
    if view is None or not (view[1] == D or view[1].endswith("." + D)):
        assert not accepts(url)


@FUZZ
@given(subdomain_urls(), st.data())
def test_property_one_dangerous_character_anywhere_is_rejected(
    url: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(url)))
    char = data.draw(
        st.one_of(st.sampled_from(DANGEROUS), st.characters(categories=["Cc", "Cf", "Z"]))
    )
    assert not accepts(url[:at] + char + url[at:])


@FUZZ
@given(st.text(), st.booleans())
def test_property_arbitrary_text_raises_only_invalid_url(text: str, development: bool) -> None:
    for candidate in (text, f"https://{D}/{text}", f"https://{text}.{D}/"):
        if accepts(candidate, development=development):
            assert_lands_within(candidate, D)
        with contextlib.suppress(InvalidURL):
            check_vendor_url(candidate, development=development)


@FUZZ
@given(st.text(), st.booleans())
def test_property_arbitrary_text_raises_only_invalid_domain(text: str, development: bool) -> None:
    try:
        domain = normalize_domain(text, development=development)
    except InvalidDomain:
        return
    assert domain == domain.lower().strip()
    assert accepts(f"https://{domain}/", [domain], development=development)


@FUZZ
@given(st.sampled_from(["localhost", "127.0.0.1"]), st.integers(1, 65535), SAFE_TAIL)
def test_property_development_urls_allowed_by_form_action(host: str, port: int, tail: str) -> None:
    sources = form_action_sources(f"http://{host}:5001/sso/token", [host])
    for scheme in ("http", "https"):
        url = f"{scheme}://{host}:{port}{tail}"
        assert accepts(url, [host], development=True)
        assert csp_allows(sources, url)
    assert not csp_allows(sources, f"http://{host}.evil.com:{port}/")


# --- normalize_domain ----------------------------------------------------------------------

DOMAIN_REJECT = [
    ("com", "top-level"),
    ("COM", "top-level"),
    (" com ", "top-level"),
    ("intranet", "top-level"),
    ("co.uk", "public suffix"),
    ("github.io", "public suffix"),
    ("s3.amazonaws.com", "public suffix"),
    ("foo.ck", "public suffix"),
    ("anything.kawasaki.jp", "public suffix"),
    ("https://acme.com", "bare domain"),
    ("acme.com/path", "bare domain"),
    ("acme.com:443", "bare domain"),
    ("user@acme.com", "bare domain"),
    ("acme.com\\", "bare domain"),
    ("-acme.com", "valid domain name"),
    ("acme-.com", "valid domain name"),
    ("acme..com", "valid domain name"),
    ("ex ample.com", "valid domain name"),
    ("a_b.com", "valid domain name"),
    ("a" * 64 + ".com", "valid domain name"),
    (".".join(["a" * 63] * 4) + ".com", "valid domain name"),
    ("acme.com.", "dot"),
    ("acme%2ecom", "percent"),
    ("1.2.3.4", "IP address"),
    ("0x7f.1", "IP address"),
    ("localhost", "development"),
    ("127.0.0.1", "development"),
    ("", "missing"),
    ("   ", "missing"),
    ("b\u00fccher.ch", "punycode"),
    ("\uff45xample.com", "punycode"),
    ("example\u3002com", "punycode"),
    ("\u212aacme.com", "punycode"),
    ("acme\u200b.com", "punycode"),
]


@pytest.mark.parametrize(("text", "reason"), DOMAIN_REJECT)
def test_normalize_domain_rejects_with_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidDomain, match=re.escape(reason)):
        normalize_domain(text, development=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Acme-Learning.COM", "acme-learning.com"),
        ("learn.acme.co.uk", "learn.acme.co.uk"),
        ("  acme.com\n", "acme.com"),
        ("xn--bcher-kva.ch", "xn--bcher-kva.ch"),
        ("www.ck", "www.ck"),
        ("city.kawasaki.jp", "city.kawasaki.jp"),
        ("vendor.github.io", "vendor.github.io"),
    ],
)
def test_normalize_domain_accepts(text: str, expected: str) -> None:
    assert normalize_domain(text, development=False) == expected
    assert normalize_domain(text, development=True) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("localhost", "localhost"), ("LOCALHOST", "localhost"), ("127.0.0.1", "127.0.0.1")],
)
def test_normalize_domain_loopback_only_in_development(text: str, expected: str) -> None:
    assert normalize_domain(text, development=True) == expected


def test_normalize_domain_still_refuses_other_ips_in_development() -> None:
    with pytest.raises(InvalidDomain, match="IP address"):
        normalize_domain("127.0.0.2", development=True)


# --- check_vendor_url ----------------------------------------------------------------------

VENDOR_ACCEPT = [
    "https://acme-learning.com/sso/token",
    "https://sso.acme-learning.com:443/token?v=2",
    "HTTPS://Acme-Learning.com/token",
]
VENDOR_REJECT = [
    "http://acme-learning.com/token",
    "https://acme-learning.com/token#frag",
    "https://acme-learning.com/token#",
    "https://user@acme-learning.com/token",
    "https://acme-learning.com:8443/token",
    "https://acme-learning.com:/token",
    "https://acme-learning.com./token",
    "https://1.2.3.4/token",
    "https://[::1]/token",
    "https://localhost/token",
    "https://app.localhost/token",
    "http://localhost:5001/token",
    "https://acme-learning.com/to ken",
    "https://acme-learning.com\\@evil.com/",
    "/token",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("url", VENDOR_ACCEPT)
def test_vendor_url_accepted(url: str) -> None:
    assert check_vendor_url(url, development=False) == url
    assert check_vendor_url(url, development=True) == url


@pytest.mark.parametrize("url", VENDOR_REJECT)
def test_vendor_url_rejected_in_production(url: str) -> None:
    with pytest.raises(InvalidURL):
        check_vendor_url(url, development=False)


@pytest.mark.parametrize(
    "url", ["http://localhost:5001/sso/token", "http://127.0.0.1:8000/t", "https://localhost/t"]
)
def test_vendor_url_loopback_in_development(url: str) -> None:
    assert check_vendor_url(url, development=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost.evil.com:5001/",
        "http://app.localhost:5001/",
        "http://localhost:0/",
        "http://localhost:65536/",
        "http://127.1:5001/",
        "http://[::1]:5001/",
        "http://localhost:5001/t#x",
        "http://acme-learning.com/token",
    ],
)
def test_vendor_url_rejected_in_development(url: str) -> None:
    with pytest.raises(InvalidURL):
        check_vendor_url(url, development=True)


def test_vendor_url_reason() -> None:
    with pytest.raises(InvalidURL, match=r"^token URL must not contain a fragment"):
        check_vendor_url("https://acme-learning.com/t#x", development=False)


# --- form_action_sources -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token_url", "domains", "expected"),
    [
        (
            "https://acme-learning.com/sso/token",
            ["acme-learning.com"],
            ["https://acme-learning.com", "https://*.acme-learning.com"],
        ),
        (
            "https://sso.acme-learning.com:443/token?v=2",
            ["acme-learning.com", "acme.co.uk"],
            [
                "https://sso.acme-learning.com",
                "https://acme-learning.com",
                "https://*.acme-learning.com",
                "https://acme.co.uk",
                "https://*.acme.co.uk",
            ],
        ),
        (
            "HTTPS://SSO.Acme-Learning.com/t",
            ["Acme-Learning.COM"],
            [
                "https://sso.acme-learning.com",
                "https://acme-learning.com",
                "https://*.acme-learning.com",
            ],
        ),
        (
            "http://localhost:5001/sso/token",
            ["localhost"],
            ["http://localhost:5001", "http://localhost:*"],
        ),
        ("http://127.0.0.1:8000/t", ["127.0.0.1"], ["http://127.0.0.1:8000", "http://127.0.0.1:*"]),
        ("https://localhost/t", ["localhost"], ["https://localhost", "http://localhost:*"]),
    ],
)
def test_form_action_sources(token_url: str, domains: list[str], expected: list[str]) -> None:
    sources = form_action_sources(token_url, domains)
    assert sources == expected
    assert csp_allows(sources, token_url)


def test_form_action_sources_do_not_allow_lookalikes() -> None:
    sources = form_action_sources(f"https://{D}/token", [D])
    assert csp_allows(sources, f"https://www.{D}/x")
    assert not csp_allows(sources, f"https://{D}.evil.com/")
    assert not csp_allows(sources, f"https://evil-{D}/")
    assert not csp_allows(sources, f"https://{D}:8443/")
    assert not csp_allows(sources, f"http://{D}/")


@pytest.mark.parametrize(
    ("token_url", "domains", "error"),
    [
        ("https://acme.com/t", ["acme.com; script-src *"], InvalidDomain),
        ("https://acme.com/t", ["acme.com *"], InvalidDomain),
        ("https://acme.com;x/t", ["acme.com"], InvalidURL),
        ("https://acme.com/t", [""], InvalidDomain),
    ],
)
def test_form_action_sources_refuse_header_injection(
    token_url: str, domains: list[str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        form_action_sources(token_url, domains)

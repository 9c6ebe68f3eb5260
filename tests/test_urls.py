"""portal.urls: the protocol §6 table, known bypass classes and development mode.

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

import re

import pytest

from portal.urls import (
    MAX_URL_LENGTH,
    InvalidURL,
    check_return_url,
)
from tests.url_oracle import (
    DANGEROUS,
    D,
    accepts,
    assert_lands_within,
)

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

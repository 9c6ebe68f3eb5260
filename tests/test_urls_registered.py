"""portal.urls for what staff register: vendor domains, token URLs, and the CSP
form-action sources built from them."""

import re

import pytest

from portal.urls import (
    InvalidDomain,
    InvalidURL,
    check_vendor_url,
    form_action_sources,
    normalize_domain,
)
from tests.url_oracle import D, accepts, csp_allows

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
    ("https://acme.com", "Type just the domain"),
    ("acme.com/path", "Type just the domain"),
    ("acme.com:443", "Type just the domain"),
    ("user@acme.com", "Type just the domain"),
    ("acme.com\\", "Type just the domain"),
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


# --- hosts that cannot be public -----------------------------------------------------------
# Production serves members on the internet: a vendor's token URL, domains and ReturnURLs must
# name a host the internet can reach. A name is public when its top-level domain is in the
# Public Suffix List's ICANN section; .onion and .arpa are there, yet never a public web site.

NOT_PUBLIC = [
    ("intranet", "full domain name"),
    ("vendor.local", "public top-level domain"),  # mDNS, RFC 6762
    ("vendor.internal", "public top-level domain"),  # ICANN's private-use name
    ("vendor.test", "public top-level domain"),  # RFC 6761
    ("vendor.invalid", "public top-level domain"),
    ("vendor.example", "public top-level domain"),
    ("vendor.lan", "public top-level domain"),
    ("vendor.corp", "public top-level domain"),
    ("sso.vendor.home", "public top-level domain"),
    ("vendor.alt", "public top-level domain"),  # RFC 9476
    ("vendor.localdomain", "public top-level domain"),
    ("duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", "special-use"),
    ("printer.home.arpa", "special-use"),  # RFC 8375
    ("1.0.0.127.in-addr.arpa", "special-use"),
]
# Not punycode at all; a lone U+0080; a name not in Unicode normal form C.
BAD_PUNYCODE = ["xn--zzzz.com", "xn--a.com", "sso.xn--u-ccb.com"]


@pytest.mark.parametrize(("host", "reason"), NOT_PUBLIC)
def test_production_refuses_a_token_url_on_a_host_that_cannot_be_public(
    host: str, reason: str
) -> None:
    with pytest.raises(InvalidURL, match=f"^token URL host must .*{reason}") as refused:
        check_vendor_url(f"https://{host}/sso/token", development=False)
    assert host not in str(refused.value)
    assert check_vendor_url(f"https://{host}/sso/token", development=True)  # a test set-up


@pytest.mark.parametrize(("host", "reason"), NOT_PUBLIC)
def test_production_refuses_such_a_domain_and_its_return_urls(host: str, reason: str) -> None:
    with pytest.raises(InvalidDomain, match=reason if "." in host else "top-level name"):
        normalize_domain(host, development=False)
    assert not accepts(f"https://{host}/", [host], development=False)
    assert not accepts(f"https://www.{host}/", [host], development=False)
    if "." in host:
        assert normalize_domain(host, development=True) == host
        assert accepts(f"https://www.{host}/", [host], development=True)


@pytest.mark.parametrize("host", BAD_PUNYCODE)
def test_punycode_that_is_not_idna_is_refused_in_every_mode(host: str) -> None:
    for development in (False, True):
        with pytest.raises(InvalidURL, match="punycode"):
            check_vendor_url(f"https://{host}/t", development=development)
        with pytest.raises(InvalidDomain, match="punycode"):
            normalize_domain(host, development=development)
        assert not accepts(f"https://{host}/", [host], development=development)


@pytest.mark.parametrize(
    "host",
    ["acme.xn--p1ai", "xn--bcher-kva.ch", "xn--mnchen-3ya.de", "acme.museum", "acme.co.uk"],
)
def test_public_names_stay_accepted(host: str) -> None:
    assert check_vendor_url(f"https://{host}/t", development=False)
    assert normalize_domain(host, development=False) == host
    assert accepts(f"https://sso.{host}/", [host], development=False)

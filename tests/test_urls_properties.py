"""portal.urls, property-based: generated URLs around a vendor domain."""

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from portal.urls import (
    InvalidDomain,
    InvalidURL,
    check_vendor_url,
    form_action_sources,
    normalize_domain,
)
from tests.url_oracle import (
    DANGEROUS,
    FUZZ,
    D,
    accepts,
    assert_lands_within,
    browser_view,
    csp_allows,
)

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

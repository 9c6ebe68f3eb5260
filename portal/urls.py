"""Vendor URL and domain rules: ReturnURLs, token URLs, registered domains (protocol §1, §6, §8).

The single place these rules live; sign-in, sign-out, the dashboard and the CLI all call it.
Every decision is made on a parsed URL, never by prefix or suffix tests on the raw text.

Decisions beyond the letter of protocol §6:
- The scheme is compared case-insensitively (``HTTPS://`` is accepted): every browser treats it
  as https, so refusing it would protect nothing.
- Only visible ASCII (0x21-0x7E) is accepted anywhere in a URL, path and query included. Browsers
  send non-ASCII path characters percent-encoded, so a real ReturnURL never needs them raw, and
  one rule then covers whitespace, controls, DEL, C1, Unicode separators, zero-width and bidi
  characters and host look-alikes (an ideographic full stop, fullwidth letters) alike.
- In development mode a ``localhost`` or ``127.0.0.1`` domain matches that exact host only, with
  http or https and any port; ``*.localhost`` is not accepted, because not every resolver sends
  those names to the loopback interface.
- Production accepts only hosts the internet can reach: at least two labels, and a top-level
  domain of the Public Suffix List's ICANN section other than ``onion`` and ``arpa`` (which
  the list has, yet are never a public web site). ``.local``, ``.internal``, ``.test``,
  ``.lan`` and the like are refused; development accepts them for test set-ups.
- A punycode label (``xn--``) must decode to the IDNA name it encodes, in every mode.
"""

import encodings.idna
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

MAX_URL_LENGTH = 2048
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1"})


@cache
def _public_suffixes() -> PublicSuffixList:
    """Built once per process, at the first check that needs it: parsing the bundled list is far
    too slow to repeat per call, and a quarter of `import portal`'s own time (every worker and
    every `portal` command paid it, most never checking a domain)."""
    return PublicSuffixList()


_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# The WHATWG URL parser reads a host whose last label is a number (decimal, octal or 0x-hex)
# as an IPv4 address: 2130706433, 0x7f.1 and 127.1 all mean 127.0.0.1 to a browser.
_NUMBER_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_PORT = re.compile(r"[1-9][0-9]{0,4}")
# In the Public Suffix List's ICANN section, yet never a public site: Tor (RFC 7686), and the
# infrastructure zone of home networks and reverse DNS (RFC 8375, RFC 3172).
_SPECIAL_USE_TLDS = frozenset({"onion", "arpa"})
_BARE_DOMAIN_HINT = "Type just the domain, like learning.example.org (no https://, port or path)"


class InvalidURL(ValueError):
    """An unacceptable URL; str(exc) is a short reason that never quotes the URL itself."""


class OutsideDomains(InvalidURL):
    """A redirect target on none of the vendor's domains (the forms say so in staff's words)."""


class InvalidDomain(ValueError):
    """A domain that cannot be registered; str(exc) is a short reason for staff."""


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: str | None


def check_return_url(url: str, domains: Iterable[str], *, development: bool) -> str:
    """Return `url` unchanged if it is an acceptable ReturnURL for a vendor with these
    registered domains (protocol §6, §8), else raise InvalidURL."""
    origin = _parse(url, "ReturnURL", development=development)
    # Lower-cased here too, so a caller passing a domain as typed cannot weaken the match.
    if not any(_within(origin.host, domain.lower()) for domain in domains):
        raise OutsideDomains("ReturnURL is not within the vendor's registered domains")
    return url


def check_vendor_url(url: str, *, development: bool) -> str:
    """Return `url` unchanged if it may be registered as a vendor's token_url, else raise
    InvalidURL. The shape rules of §6 (no domain membership), and no fragment."""
    _parse(url, "token URL", development=development)
    # A fragment never reaches the server, so a registered one only misleads; exact matching.
    if "#" in url:
        raise InvalidURL("token URL must not contain a fragment (#)")
    return url


def check_portal_url(url: str, *, development: bool, what: str = "PORTAL_PUBLIC_URL") -> str:
    """PORTAL_PUBLIC_URL (or PORTAL_ISSUER), the portal's own address: a token URL's rules (in
    production https, a public DNS name, port 443) for an origin, with nothing after the host
    but "/". Returned as scheme://host[:port] in lower case, the one spelling every link to the
    portal uses."""
    origin = _parse(url, what, development=development)
    parts = urlsplit(url)
    if parts.path not in ("", "/") or "?" in url or "#" in url:
        raise InvalidURL(
            f"{what} must be an origin such as https://sso.example.org, "
            "with no path, query or fragment"
        )
    default = "443" if origin.scheme == "https" else "80"
    port = "" if origin.port in (None, default) else f":{origin.port}"
    return f"{origin.scheme}://{origin.host}{port}"


def normalize_domain(text: str, *, development: bool) -> str:
    """Validate a domain staff want to register for a vendor (protocol §1); return it stripped
    and lower-cased, or raise InvalidDomain with a reason staff can act on."""
    domain = text.strip()
    # Checked before lower-casing, which maps some non-ASCII letters (the Kelvin sign) to ASCII.
    if not domain.isascii():
        raise InvalidDomain(
            "domain must be plain ASCII: enter an international domain in its punycode form (xn--…)"
        )
    domain = domain.lower()
    if any(char in domain for char in "/:@?#\\"):
        raise InvalidDomain(_BARE_DOMAIN_HINT)
    if domain in LOOPBACK_HOSTS:
        # Protocol §8: loopback domains exist for local development only.
        if development:
            return domain
        raise InvalidDomain(f"{domain} can be registered only in development mode")
    problem = _dns_name_problem(domain)
    if problem:
        raise InvalidDomain(f"domain {problem}")
    if "." not in domain:
        raise InvalidDomain(
            f"{domain} is a top-level name, not a site; "
            "enter a full domain such as acme-learning.com"
        )
    problem = None if development else _public_name_problem(domain)
    if problem:
        raise InvalidDomain(f"{domain} {problem}; register the vendor's public domain")
    # A public suffix is shared by unrelated owners: registering it would admit all of their sites.
    if _public_suffixes().is_public(domain):
        raise InvalidDomain(
            f"{domain} is a public suffix shared by unrelated sites; "
            "enter the vendor's own domain, such as acme-learning.com"
        )
    return domain


def form_action_sources(token_url: str, domains: Iterable[str]) -> list[str]:
    """CSP ``form-action`` sources for the token-post page (protocol §3), in order, no repeats.

    - The token_url's origin (``https://vendor.com``, or ``http://localhost:5001`` in
      development), since the form posts there.
    - For each registered domain ``d``: ``https://d`` and ``https://*.d``. Browsers apply
      form-action to the redirects that follow the POST too, so the vendor's redirect to its
      ReturnURL must stay allowed. A source without a port matches only the scheme's default
      port, which is exactly what a production ReturnURL may use (none, or 443).
    - For a development domain ``localhost`` or ``127.0.0.1``: ``http://localhost:*`` (resp.
      ``http://127.0.0.1:*``). A dev ReturnURL may use any port, and without an explicit port a
      source allows only the default one, hence ``:*``. The ``http`` scheme also matches https
      (CSP's secure-upgrade rule), so this one source covers both schemes a dev ReturnURL may use.
      The host stays exact, like the ReturnURL rule (no ``*.localhost``); browsers match an
      IPv4 host-source such as ``127.0.0.1`` literally.

    Both inputs were validated at registration; they are parsed again here (in the lenient
    development mode, as only development can have registered a loopback one) so that nothing
    but scheme, host and port characters can reach the header.
    """
    origin = _parse(token_url, "token URL", development=True)
    port = "" if origin.port in (None, "443") and origin.scheme == "https" else origin.port
    sources = [f"{origin.scheme}://{origin.host}" + (f":{port}" if port else "")]
    for domain in (d.lower() for d in domains):
        if domain in LOOPBACK_HOSTS:
            sources.append(f"http://{domain}:*")
            continue
        problem = _dns_name_problem(domain)
        if problem:
            raise InvalidDomain(f"domain {problem}")
        sources += [f"https://{domain}", f"https://*.{domain}"]
    return list(dict.fromkeys(sources))


def _within(host: str, domain: str) -> bool:
    # Whole labels only: "evil-example.com" does not end with ".example.com". Loopback domains
    # need no exception: _parse admits their hosts only in development, and never *.localhost
    # or anything ending in a number.
    return host == domain or host.endswith("." + domain)


def _parse(url: str, what: str, *, development: bool) -> _Origin:
    origin = _split(url, what)
    if development and origin.host in LOOPBACK_HOSTS:
        # Protocol §8: local servers run on plain http and on any port.
        if origin.port is not None and not _is_port(origin.port):
            raise InvalidURL(f"{what} port must be a number from 1 to 65535")
        return origin
    problem = _dns_name_problem(origin.host)
    if problem:
        raise InvalidURL(f"{what} host {problem}")
    # RFC 6761 reserves *.localhost for loopback: never a vendor's site in production.
    if origin.host == "localhost" or origin.host.endswith(".localhost"):
        raise InvalidURL(f"{what} may use localhost only in development mode")
    problem = None if development else _public_name_problem(origin.host)
    if problem:
        raise InvalidURL(f"{what} host {problem}")
    # Over http a token or redirect target can be read and rewritten on the network.
    if origin.scheme != "https":
        raise InvalidURL(f"{what} must use https")
    # Another port can be another service on the host; only the one spelling "443" is accepted.
    if origin.port not in (None, "443"):
        raise InvalidURL(f"{what} must not name a port other than 443")
    return origin


def _split(url: str, what: str) -> _Origin:
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"{what} is longer than {MAX_URL_LENGTH} characters")
    # Browsers strip or skip whitespace and controls, so "\x08javascript:" or " //evil.com"
    # mean something else to them than to a parser (Django CVE-2015-0220, CVE-2015-2317).
    if not _VISIBLE_ASCII.fullmatch(url):
        raise InvalidURL(f"{what} must not contain spaces, control or non-ASCII characters")
    # Browsers read "\" as "/" in http(s) URLs; Python does not (Django CVE-2014-3730).
    if "\\" in url:
        raise InvalidURL(f"{what} must not contain backslashes")
    try:
        parts = urlsplit(url)  # lower-cases the scheme: HTTPS:// is https, as in browsers
    except ValueError:
        raise InvalidURL(f"{what} is not a valid URL") from None
    # An empty authority ("https:evil.com", "https:///evil.com") is filled in by browsers.
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise InvalidURL(f"{what} must be an absolute URL starting with https://")
    # Browsers go to the host after the last "@" (Django CVE-2016-2512, Keycloak CVE-2024-8883).
    if "@" in parts.netloc:
        raise InvalidURL(f"{what} must not contain user info (@) before the host")
    host, colon, port = parts.netloc.partition(":")
    # An IPv6 literal is never a registered DNS name (and contains colons partition would split).
    if host.startswith("["):
        raise InvalidURL(f"{what} host must be a name, not an IP address")
    return _Origin(parts.scheme, host.lower(), port if colon else None)


def _is_port(text: str) -> bool:
    # One spelling per port: no sign, no leading zero, no empty port after ":".
    return bool(_PORT.fullmatch(text)) and int(text) <= 65535


def _dns_name_problem(name: str) -> str | None:
    """Why `name` (lower-case ASCII) is not a plain DNS host name, or None if it is one."""
    if not name:
        return "is missing"
    # Browsers decode %2e in a host: "vendor.com%2eevil.com" would become vendor.com.evil.com.
    if "%" in name:
        return "must not be percent-encoded"
    # "vendor.com." is another origin to a browser yet reaches the same server.
    if name.endswith("."):
        return "must not end with a dot"
    labels = name.split(".")
    if _NUMBER_LABEL.fullmatch(labels[-1]):
        return "must be a name, not an IP address"
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return (
            "must be a valid domain name: labels of letters, digits and inner hyphens, "
            "separated by single dots"
        )
    if not all(_is_idna(label) for label in labels if label.startswith("xn--")):
        return "has a punycode label (xn--) that is not a valid international name"
    return None


def _is_idna(label: str) -> bool:
    """Whether an xn-- label is the IDNA encoding of a name: browsers refuse the others, and
    two spellings of one name must not pass as two names."""
    try:
        name = label[4:].encode("ascii").decode("punycode")
        return not name.isascii() and encodings.idna.ToASCII(name).decode("ascii") == label
    except UnicodeError:
        return False


def _public_name_problem(name: str) -> str | None:
    """Why a valid DNS name cannot be a site on the public internet, or None if it can be."""
    if "." not in name:
        return "must be a full domain name such as vendor.com, not a local name"
    if name.rsplit(".", 1)[1] in _SPECIAL_USE_TLDS:
        return "must be a public domain name, not a special-use one such as .onion or .arpa"
    if _public_suffixes().publicsuffix(name, accept_unknown=False) is None:
        return "must end in a public top-level domain (not .local, .internal, .test, .lan…)"
    return None

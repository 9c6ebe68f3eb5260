"""What a vendor's settings must be, as sentences staff can act on: its key, name, domains, URLs
and the fields it receives. Pure checks, for the dashboard and the CLI alike."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from portal import front_ends
from portal.catalogue import CATALOGUE, DEFAULT_SELECTION, OUTPUT_NAME_PATTERN, SESSION_ID
from portal.errors import InvalidField, PortalError
from portal.models import MY_SITES, VENDOR_KEY_PATTERN
from portal.urls import (
    InvalidDomain,
    InvalidURL,
    OutsideDomains,
    check_return_url,
    check_vendor_url,
    normalize_domain,
)


@dataclass(frozen=True)
class FieldChoice:
    field: str
    output_name: str | None = None

    @property
    def output(self) -> str:
        return self.output_name or self.field


DEFAULT_FIELDS = tuple(FieldChoice(field) for field in DEFAULT_SELECTION)


def check_key(key: str) -> str:
    if not re.fullmatch(VENDOR_KEY_PATTERN, key):
        raise InvalidField(
            "key",
            "The vendor key must be 2 to 63 characters of a-z, 0-9 and '-', "
            "starting with a letter or digit.",
        )
    return key


def check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidField("name", "The vendor name must be 1 to 200 characters.")
    return name


def sentence(text: str) -> str:
    """A reason from portal.urls ("domain must be …") as a sentence for the form."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def url_problem(what: str, exc: InvalidURL, called: str | None = None) -> str:
    """ "The token URL must use https." (not "token URL: token URL must use https"); `called`
    is how portal.urls names the URL, when the form calls it otherwise."""
    if isinstance(exc, OutsideDomains):
        return f"The {what} must be on one of this vendor's domains."
    reason = str(exc)
    if called and reason.startswith(called):
        reason = what + reason.removeprefix(called)
    if reason.startswith(what):
        return sentence(f"the {reason}")
    return sentence(f"the {what} is not accepted: {reason}")


def domain_problem(exc: InvalidDomain) -> str:
    """ "The domain must be …" or "co.uk is a public suffix …": a domain keeps its lower case."""
    reason = str(exc)
    return sentence(f"the {reason}") if reason.startswith("domain ") else reason.rstrip(".") + "."


def check_token_url(url: str, *, development: bool) -> str:
    try:
        return check_vendor_url(url, development=development)
    except InvalidURL as exc:
        raise InvalidField("token_url", url_problem("token URL", exc)) from None


def check_protocol(protocol: str) -> str:
    """A front end's name (portal/front_ends.py)."""
    labels = front_ends.labels()
    if protocol not in labels:
        *others, last = labels.values()
        raise InvalidField("protocol", f"Choose {', '.join(others)} or {last}.")
    return protocol


def token_url_missing(protocol: str, url: str | None) -> str | None:
    """What is wrong when a vendor's front end posts to its token URL (Enhanced SSO: its
    registration's `needs_token_url`) and it has none; a vendor of another front end may keep one
    (for a switch back) or have none."""
    front_end = front_ends.named(protocol)
    if front_end.vendor_settings.needs_token_url and not url:
        return f"{front_end.label} needs a token URL"
    return None


def check_protocol_token_url(protocol: str, url: str | None, *, development: bool) -> str | None:
    check_protocol(protocol)
    if not url:
        if missing := token_url_missing(protocol, url):
            raise InvalidField("token_url", f"{missing}.")
        return None
    return check_token_url(url, development=development)


def check_domains(domains: Iterable[str], *, development: bool) -> list[str]:
    checked: list[str] = []
    for text in domains:
        try:
            domain = normalize_domain(text, development=development)
        except InvalidDomain as exc:
            raise InvalidField("domain", domain_problem(exc)) from None
        if domain not in checked:
            checked.append(domain)
    if not checked:
        raise InvalidField("domain", "A vendor needs at least one domain.")
    return checked


def check_signout_url(url: str | None, domains: Sequence[str], *, development: bool) -> str | None:
    """A sign-out landing page is a redirect target, so it obeys the ReturnURL rules."""
    if not url:
        return None
    try:
        return check_return_url(url, domains, development=development)
    except InvalidURL as exc:
        raise InvalidField("signout_url", url_problem("sign-out URL", exc, "ReturnURL")) from None


def check_start_url(url: str | None, domains: Sequence[str], *, development: bool) -> str | None:
    """The vendor's page that starts a sign-in (OIDC's initiate_login_uri): the portal sends
    members there, not straight to a token, so the vendor ties the sign-in to the browser with
    its own state. A redirect target on its domains, like a ReturnURL."""
    if not url:
        return None
    try:
        return check_return_url(url, domains, development=development)
    except InvalidURL as exc:
        problem = url_problem("sign-in start page", exc, "ReturnURL")
        raise InvalidField("start_url", problem) from None


# "On My sites", in staff's words (models.MY_SITES).
MY_SITES_CHOICES = {
    "shown": "Shown",
    "coming-soon": "Coming soon (greyed, not a link)",
    "hidden": "Hidden",
}


def check_my_sites(value: str) -> str:
    """How the vendor appears on members' "My sites"; the list only — it never stops a sign-in
    the vendor's own site starts (disabling the vendor does)."""
    if value not in MY_SITES:
        raise InvalidField("my_sites", "On My sites must be shown, coming-soon or hidden.")
    return value


LOGOUT_URLS = {
    "backchannel_logout_url": "sign-out notification address",
    "frontchannel_logout_url": "sign-out page address",
}


def check_logout_url(
    field: str, url: str | None, domains: Sequence[str], *, development: bool
) -> str | None:
    """A vendor's back-channel logout URL (the portal POSTs to it, server to server) or
    front-channel logout URL (the signed-out page frames it): within the vendor's registered
    domains, like a ReturnURL, so the portal never calls or frames a host registered for no
    vendor; and no fragment (it would never reach the server)."""
    if not url:
        return None
    what = LOGOUT_URLS[field]
    try:
        check_return_url(url, domains, development=development)
    except InvalidURL as exc:
        raise InvalidField(field, url_problem(what, exc, "ReturnURL")) from None
    if "#" in url:
        raise InvalidField(field, sentence(f"the {what} must not contain a fragment (#)"))
    return url


def parse_field_spec(spec: str) -> list[FieldChoice]:
    """`ImisId,Email=email_address,MemberType` -> choices; `=` gives an output name."""
    choices = []
    for item in spec.split(","):
        field, _, output_name = item.strip().partition("=")
        choices.append(FieldChoice(field.strip(), output_name.strip() or None))
    return check_fields(choices)


def field_specs(choices: Sequence[FieldChoice]) -> list[str]:
    """A selection as the audit log and the CLI write it: `Email=email_address` when renamed
    (what parse_field_spec reads back)."""
    return [f"{c.field}={c.output_name}" if c.output_name else c.field for c in choices]


def check_fields(choices: Sequence[FieldChoice]) -> list[FieldChoice]:
    if not choices:
        raise PortalError("choose at least one field")
    fields: set[str] = set()
    outputs: set[str] = set()
    for choice in choices:
        if choice.field not in CATALOGUE:
            raise PortalError(f"unknown field {choice.field[:40]!r}; choose from the catalogue")
        if choice.output_name and not re.fullmatch(OUTPUT_NAME_PATTERN, choice.output_name):
            raise PortalError(
                f"output name {choice.output_name[:70]!r} must be 1-64 letters, digits, "
                "'_', '.' or '-', starting with a letter or '_'"
            )
        if choice.output.lower() == SESSION_ID:
            # Kept for the portal session's id, in any case: some JSON readers ignore case.
            raise PortalError(
                f"no field can be sent as {choice.output!r}: that name is kept for the portal "
                "session's id, which every member object carries"
            )
        if choice.field in fields:
            raise PortalError(f"field {choice.field} is chosen twice")
        if choice.output in outputs:
            raise PortalError(f"two fields would both be sent as {choice.output!r}")
        fields.add(choice.field)
        outputs.add(choice.output)
    return list(choices)

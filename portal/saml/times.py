"""SAML's times (xs:dateTime in UTC, SAML Core §1.3.3): read from a message and written into
one, and the window a message's IssueInstant must fall in."""

import re
from datetime import UTC, datetime, timedelta

from portal.saml.refusals import Refused

# How far apart an SP's clock and the portal's may be (both run NTP; a few minutes is usual).
CLOCK_SKEW = timedelta(minutes=3)
# How old a request may be when it is read: long enough for a member to sign in first.
MAX_AGE = timedelta(minutes=15)
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")


def parse_instant(text: str, what: str) -> datetime:
    """An xs:dateTime with a time zone (SAML requires UTC), as an aware datetime."""
    value = text.strip()
    if not _DATETIME.fullmatch(value):
        raise Refused(
            "bad_time", f"{what} is not a date and time in UTC (such as 2026-01-31T12:00:00Z)."
        )
    whole, _, rest = value.partition(".")
    if rest:  # fractions beyond microseconds are cut, which Python cannot read
        digits = re.match(r"\d+", rest)
        assert digits is not None
        whole += "." + digits.group()[:6] + rest[digits.end() :]
    try:
        return datetime.fromisoformat(whole.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise Refused("bad_time", f"{what} is not a valid date and time.") from None


def format_instant(moment: datetime) -> str:
    """`moment` as SAML writes it: UTC, whole seconds, a Z."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_issued(instant: datetime, now: datetime) -> None:
    """Refused unless `instant` (a request's IssueInstant) lies within MAX_AGE before `now`,
    give or take CLOCK_SKEW: an old request is a replay risk, a future one a wrong clock."""
    if instant > now + CLOCK_SKEW:
        raise Refused("future", "The request is dated in the future: check the SP's clock.")
    if instant < now - MAX_AGE - CLOCK_SKEW:
        raise Refused("too_old", "The request is too old (IssueInstant): start again.")

"""A member's status as staff see it: the one place that decides Current, Lapsed since …,
No password, Locked, Throttled and Disabled, both for the badges of one member and for the
member list's status filter, so a badge and the filter that finds it never disagree. Whether a
member is in good standing (Current, or not) is good_standing.py's, as vendors are told it."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, not_
from sqlmodel import col

from portal import good_standing
from portal.auth import throttle
from portal.errors import PortalError
from portal.models import Member

# The member list's filter: query-string value → what staff read.
FILTERS: dict[str, str] = {
    "current": "In good standing",
    "lapsed": "Not in good standing",
    "no-password": "No password",
    "locked": "Locked",
    "throttled": "Throttled",
    "disabled": "Disabled",
}


@dataclass(frozen=True)
class Badge:
    text: str
    tone: str  # a tone of the `ui.badge` macro
    why: str  # one line for staff, under the badges on the member page


def has_no_password(member: Member) -> bool:
    # iMIS members' passwords live in iMIS: only a local member can be without one here.
    return member.source == "local" and member.password_hash is None


def in_words(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def badges(member: Member, *, terms: good_standing.Terms, lock: str | None) -> list[Badge]:
    """Every status that holds, most pressing first; `lock` is the throttle's state of the
    member's names (throttle.account_states)."""
    found: list[Badge] = []
    if not member.enabled:
        found.append(Badge("Disabled", "disabled", "Disabled: cannot sign in."))
    if lock == throttle.LOCKED:
        found.append(
            Badge("Locked", "locked", "Locked after too many failed sign-ins, until unlocked.")
        )
    elif lock == throttle.DELAYED:
        found.append(Badge("Throttled", "warning", "Recent failed sign-ins: the next one waits."))
    if has_no_password(member):
        found.append(
            Badge("No password", "warning", "No password set yet: cannot sign in until one is.")
        )
    found.extend(invitation_badges(member))
    found.append(standing_badge(good_standing.of_member(member, terms), member.member_status))
    return found


def standing_badge(standing: good_standing.Standing, status: str | None) -> Badge:
    """Whether the member is in good standing, and why, as vendors are told it (IsMember)."""
    paid, until = standing.paid_through, standing.good_until
    match standing.why:
        case good_standing.CURRENT if paid is not None:
            return Badge("Current", "active", f"In good standing: paid through {in_words(paid)}.")
        case good_standing.IN_GRACE if paid is not None and until is not None:
            return Badge(
                "Current (grace period)",
                "warning",
                f"Paid through {in_words(paid)}; in good standing until {in_words(until)}, the "
                "end of the grace period for renewing.",
            )
        case good_standing.LAPSED if paid is not None:
            since = in_words(paid + timedelta(days=1))
            return Badge(f"Lapsed since {since}", "danger", f"Paid through {in_words(paid)}.")
        case good_standing.NO_PAID_THROUGH:
            return Badge(
                "No paid-through date",
                "warning",
                "Not in good standing: no paid-through date says the membership is paid (give "
                "lifetime and honorary members a date far ahead).",
            )
    return Badge(
        f"Inactive (status {status})",
        "danger",
        f"Not in good standing: the member record's status is {status}; only A (active) counts.",
    )


def invitation_badges(member: Member) -> list[Badge]:
    """Invited (when), and whether the member accepted: set a first password with the link."""
    if member.invitation_accepted_at is not None:
        day = in_words(member.invitation_accepted_at.date())
        return [
            Badge("Accepted invitation", "success", f"Set a password from the invitation on {day}.")
        ]
    if member.invited_at is not None and has_no_password(member):
        day = in_words(member.invited_at.date())
        return [Badge("Invited", "info", f"Invitation emailed on {day}; not accepted yet.")]
    return []


def parse_filter(raw: str) -> str | None:
    """The list's `status` argument: one of FILTERS, or blank for every member."""
    if not raw:
        return None
    if raw not in FILTERS:
        raise PortalError(f"status must be one of: {', '.join(FILTERS)}.")
    return raw


def condition(
    name: str, *, terms: good_standing.Terms, policy: throttle.Policy, now: datetime
) -> ColumnElement[bool]:
    """The SQL twin of `badges` for one filter: the members who show that badge."""
    good = good_standing.in_good_standing(
        col(Member.member_status), col(Member.paid_through), terms
    )
    match name:
        case "current":
            return good
        case "lapsed":
            return not_(good)
        case "no-password":
            return and_(col(Member.source) == "local", col(Member.password_hash).is_(None))
        case "locked":
            return throttle.member_locked(col(Member.username), col(Member.email), policy=policy)
        case "throttled":
            return throttle.member_delayed(
                col(Member.username), col(Member.email), now=now, policy=policy
            )
        case "disabled":
            return col(Member.enabled).is_(False)
    raise ValueError(name)

"""A member's status as staff see it: the one place that decides Current, Lapsed since …,
No password, Locked and Disabled, both for the badges of one member and for the member list's
status filter, so a badge and the filter that finds it never disagree."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col

from portal.auth import throttle
from portal.errors import PortalError
from portal.models import Member

# The member list's filter: query-string value → what staff read.
FILTERS: dict[str, str] = {
    "current": "Current",
    "lapsed": "Lapsed",
    "no-password": "No password",
    "locked": "Locked",
    "disabled": "Disabled",
}


@dataclass(frozen=True)
class Badge:
    text: str
    tone: str  # a tone of the `ui.badge` macro
    why: str  # one line for staff, under the badges on the member page


def lapsed_since(paid_through: date | None, today: date) -> date | None:
    """The first day not paid for, when that day has come; None while paid up. A member with no
    paid-through date is not called lapsed: nothing says when their membership ended."""
    if paid_through is None or paid_through >= today:
        return None
    return paid_through + timedelta(days=1)


def has_no_password(member: Member) -> bool:
    # iMIS members' passwords live in iMIS: only a local member can be without one here.
    return member.source == "local" and member.password_hash is None


def in_words(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def badges(member: Member, *, today: date, lock: str | None) -> list[Badge]:
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
    since = lapsed_since(member.paid_through, today)
    if since is not None:
        paid = in_words(since - timedelta(days=1))
        found.append(Badge(f"Lapsed since {in_words(since)}", "danger", f"Paid through {paid}."))
    else:
        found.append(Badge("Current", "active", "Membership paid up."))
    return found


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


def condition(name: str, *, today: date, policy: throttle.Policy) -> ColumnElement[bool]:
    """The SQL twin of `badges` for one filter: the members who show that badge."""
    paid_through = col(Member.paid_through)
    match name:
        case "current":
            return or_(paid_through.is_(None), paid_through >= today)
        case "lapsed":
            return paid_through < today
        case "no-password":
            return and_(col(Member.source) == "local", col(Member.password_hash).is_(None))
        case "locked":
            return throttle.member_locked(col(Member.username), col(Member.email), policy=policy)
        case "disabled":
            return col(Member.enabled).is_(False)
    raise ValueError(name)

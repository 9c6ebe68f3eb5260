"""Who may use a vendor's site: its access rule, decided by the portal at the moment it issues
anything for the site — an Enhanced token, an OpenID Connect code, refresh or UserInfo answer, a
SAML assertion — so a member who lapses loses access at their next sign-in or refresh.

A rule has up to three parts, and every part that is set must hold: the member is in good
standing (good_standing.py, the one meaning of "member"); their member type is one of the chosen
types; their status is one of the chosen statuses. No part set is today's behaviour and the
default: everyone who signs in. A member without a type (or status) is not of any chosen one.

The rule is decided twice, from one definition each way and held equal by
tests/test_access_rules.py: `decide` in Python (the refusal page's why, the vendor page's
"would this member get in", My sites), and `ALLOWS` in SQL, formatted into each issuing statement
so that a rule changed by staff and an issue cannot interleave (the statement reads the rule
and the member as it issues)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, true
from sqlmodel import col

from portal import good_standing
from portal.errors import InvalidField
from portal.good_standing import Standing, Terms
from portal.models import Member, Vendor

MOST_CHOSEN = 50  # member types, or statuses, in one rule
LONGEST = 64  # characters of one (the member table's member_type is 64)

# Why a member is refused (the audit log's `reason`, and the words below).
NOT_IN_GOOD_STANDING = "not_in_good_standing"
MEMBER_TYPE = "member_type"
STATUS = "status"
REASONS = {
    NOT_IN_GOOD_STANDING: "not a member in good standing",
    MEMBER_TYPE: "member type not one the site is for",
    STATUS: "membership status not one the site is for",
}


@dataclass(frozen=True)
class Rule:
    good_standing: bool = False
    member_types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    @property
    def everyone(self) -> bool:
        return not (self.good_standing or self.member_types or self.statuses)

    def in_words(self) -> str:
        """The rule as staff read it (the vendor page, the audit log)."""
        if self.everyone:
            return "Everyone who signs in"
        parts = []
        if self.member_types:
            parts.append(f"whose member type is {either(self.member_types)}")
        if self.statuses:
            parts.append(f"whose status is {either(self.statuses)}")
        who = "Members in good standing" if self.good_standing else "Members"
        return " ".join([who, " and ".join(parts)]).strip()


def either(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


def of_vendor(vendor: Vendor) -> Rule:
    return Rule(
        vendor.access_good_standing,
        tuple(vendor.access_member_types),
        tuple(vendor.access_statuses),
    )


def checked(good: bool, member_types: Iterable[str], statuses: Iterable[str]) -> Rule:
    """A rule from what staff chose (a form, the command line): blanks dropped, each value
    trimmed, repeats once; InvalidField names what is wrong."""
    return Rule(
        good, _chosen("access_member_types", member_types), _chosen("access_statuses", statuses)
    )


def _chosen(name: str, values: Iterable[str]) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(value.strip() for value in values if value.strip()))
    if len(found) > MOST_CHOSEN:
        raise InvalidField(name, f"Choose at most {MOST_CHOSEN}.")
    for value in found:
        if len(value) > LONGEST or not value.isprintable():
            raise InvalidField(name, f"“{value[:LONGEST]}…” is not a member type or status.")
    return found


def apply(vendor: Vendor, rule: Rule) -> None:
    vendor.access_good_standing = rule.good_standing
    vendor.access_member_types = list(rule.member_types)
    vendor.access_statuses = list(rule.statuses)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    why_not: str | None  # one of REASONS, when refused
    standing: Standing
    member_type: str | None
    status: str | None
    rule: Rule

    def for_staff(self) -> str:
        """One line for staff: would get in, or why not."""
        if self.allowed:
            return "Allowed"
        match self.why_not:
            case "not_in_good_standing":
                return f"Refused: not in good standing ({_standing_for_staff(self.standing)})"
            case "member_type":
                return (
                    f"Refused: member type {self.member_type or '(none)'} is not "
                    f"{either(self.rule.member_types)}"
                )
        return f"Refused: status {self.status or '(none)'} is not {either(self.rule.statuses)}"

    def for_member(self, site: str) -> str:
        """Why, in the member's words, for the refusal page."""
        match self.why_not:
            case "not_in_good_standing":
                return (
                    f"{site} is for members whose membership is current; "
                    + _standing_for_member(self.standing)
                )
            case "member_type":
                yours = (
                    f"yours is {self.member_type}"
                    if self.member_type
                    else "your membership has no member type recorded"
                )
                return f"{site} is for {either(self.rule.member_types)} members; {yours}."
            case "status":
                return (
                    f"{site} is for members whose membership status is "
                    f"{either(self.rule.statuses)}; yours is {self.status or 'not recorded'}."
                )
        # Allowed now, yet refused as the token was issued: staff changed the rule in between.
        return f"{site}'s access rule changed just as you were signing in. Please try again."


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _standing_for_member(standing: Standing) -> str:
    if standing.why == good_standing.LAPSED and standing.paid_through is not None:
        return f"yours lapsed on {long_date(standing.paid_through)}."
    if standing.why == good_standing.NO_PAID_THROUGH:
        return "we have no record that yours is paid."
    return "your membership record is not active."


def _standing_for_staff(standing: Standing) -> str:
    if standing.why == good_standing.LAPSED and standing.paid_through is not None:
        return f"paid through {long_date(standing.paid_through)}"
    if standing.why == good_standing.NO_PAID_THROUGH:
        return "no paid-through date"
    return "status not active"


def decide(rule: Rule, member: Any, terms: Terms) -> Decision:
    """Whether `member` (anything with member_status, paid_through and member_type) may use a
    site with this rule, and if not, the first part that does not hold."""
    standing = good_standing.of_member(member, terms)
    member_type, status = member.member_type, member.member_status
    why_not = None
    if rule.good_standing and not standing.good:
        why_not = NOT_IN_GOOD_STANDING
    elif rule.member_types and member_type not in rule.member_types:
        why_not = MEMBER_TYPE
    elif rule.statuses and status not in rule.statuses:
        why_not = STATUS
    return Decision(why_not is None, why_not, standing, member_type, status, rule)


# The rule in SQL, for the statements that issue: `{vendor}` and `{member}` are the aliases of
# the vendor and member tables in the statement, `{paid_through_from}` its parameter holding
# Terms.earliest_paid_through (a date). `allows_sql` formats it.
ALLOWS = (
    "((NOT {vendor}.access_good_standing OR " + good_standing.IN_GOOD_STANDING_SQL + ")"
    " AND (cardinality({vendor}.access_member_types) = 0"
    " OR {member}.member_type = ANY({vendor}.access_member_types))"
    " AND (cardinality({vendor}.access_statuses) = 0"
    " OR {member}.member_status = ANY({vendor}.access_statuses)))"
)


def allows_sql(*, vendor: str, member: str, paid_through_from: str) -> str:
    return ALLOWS.format(vendor=vendor, member=member, paid_through_from=paid_through_from)


def lets_in(rule: Rule, terms: Terms) -> ColumnElement[bool]:
    """The members a rule lets in, over the member table (a rule not saved yet included: the
    vendor page's preview counts them)."""
    parts: list[ColumnElement[bool]] = []
    if rule.good_standing:
        parts.append(
            good_standing.in_good_standing(
                col(Member.member_status), col(Member.paid_through), terms
            )
        )
    if rule.member_types:
        parts.append(col(Member.member_type).in_(rule.member_types))
    if rule.statuses:
        parts.append(col(Member.member_status).in_(rule.statuses))
    return and_(true(), *parts)

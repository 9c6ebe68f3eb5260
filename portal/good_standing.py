"""Whether a member is in good standing: the one meaning of "member" that every page and protocol
uses — the dashboard's badge and status filter, `IsMember` in the Enhanced member object, the
`is_member` claim, SAML's eduPersonAffiliation — so that staff and vendors never disagree.

In good standing: the member record's status is active (iMIS's `A`) and the membership is paid
through today, or through the grace period after it (PORTAL_MEMBERSHIP_GRACE_DAYS). A member
with **no paid-through date is not** in good standing: nothing says the membership was paid, and
a site for members only must fail closed (vendors have always received `IsMember: false` for
them). Give lifetime and honorary members a far-future paid-through date."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, literal
from sqlalchemy.orm import Mapped

from portal.settings import Settings

ACTIVE_STATUS = "A"  # iMIS's code for an active member record

# Why a member is, or is not, in good standing.
CURRENT = "current"  # paid through today or later
IN_GRACE = "in_grace"  # paid-through date past, within the grace period
LAPSED = "lapsed"  # past the grace period too
NO_PAID_THROUGH = "no_paid_through"
INACTIVE = "inactive"  # a status other than active


@dataclass(frozen=True)
class Terms:
    """What good standing is measured against: the day, and the grace period after a
    paid-through date (days in which a member who has not yet renewed still counts)."""

    today: date
    grace_days: int = 0

    @property
    def earliest_paid_through(self) -> date:
        """The earliest paid-through date still in good standing today."""
        return self.today - timedelta(days=self.grace_days)


def terms(settings: Settings, now: datetime) -> Terms:
    return Terms(now.date(), settings.membership_grace_days)


@dataclass(frozen=True)
class Standing:
    good: bool
    why: str  # one of CURRENT, IN_GRACE, LAPSED, NO_PAID_THROUGH, INACTIVE
    paid_through: date | None
    good_until: date | None  # the last day in good standing, grace included, when dated


def of(status: str | None, paid_through: date | None, terms: Terms) -> Standing:
    if status != ACTIVE_STATUS:
        return Standing(False, INACTIVE, paid_through, None)
    if paid_through is None:
        return Standing(False, NO_PAID_THROUGH, None, None)
    good_until = paid_through + timedelta(days=terms.grace_days)
    if paid_through >= terms.today:
        return Standing(True, CURRENT, paid_through, good_until)
    if good_until >= terms.today:
        return Standing(True, IN_GRACE, paid_through, good_until)
    return Standing(False, LAPSED, paid_through, good_until)


def of_member(member: Any, terms: Terms) -> Standing:
    """A member row's standing (anything with member_status and paid_through)."""
    return of(member.member_status, member.paid_through, terms)


def in_good_standing(
    status: Mapped[Any], paid_through: Mapped[Any], terms: Terms
) -> ColumnElement[bool]:
    """The SQL twin of `of(...).good` over a member's status and paid-through columns, for the
    member list's filter and counts."""
    return and_(
        status == literal(ACTIVE_STATUS),
        paid_through.is_not(None),
        paid_through >= terms.earliest_paid_through,
    )


# The text twin of `in_good_standing`, for the raw statements that issue tokens, codes and
# assertions (portal/access_rules.py formats it in): `{member}` is the member table's alias in
# the statement, `{paid_through_from}` the parameter holding Terms.earliest_paid_through.
IN_GOOD_STANDING_SQL = (
    "({member}.member_status = '" + ACTIVE_STATUS + "' AND {member}.paid_through IS NOT NULL"
    " AND {member}.paid_through >= {paid_through_from})"
)

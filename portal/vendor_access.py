"""A vendor's access rule as staff manage it (the rule itself is portal/access_rules.py): the
member types and statuses to choose from, how many members a rule lets in, whether one member
would get in, each vendor's answer for one member, and a change with its audit details — for
the dashboard and `portal vendor set` alike."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import access_rules, audit, members
from portal.access_rules import Decision, Rule
from portal.good_standing import Terms
from portal.models import Member, Vendor

EVENT = "vendor.access_changed"
SETTING = "access"  # the rule in words, as vendor_settings.snapshot and the audit log hold it
MOST_OFFERED = 200  # distinct values of a column offered as checkboxes


async def values_in_use(db: AsyncSession) -> tuple[list[str], list[str]]:
    """The member types and the statuses members have now, each sorted."""
    found = []
    for column in (col(Member.member_type), col(Member.member_status)):
        query = select(column).where(column.is_not(None)).distinct().order_by(column)
        found.append([str(value) for value in await db.exec(query.limit(MOST_OFFERED))])
    return found[0], found[1]


def offered(in_use: Iterable[str], chosen: Iterable[str]) -> list[str]:
    """The values to offer: those in use, and those the rule names though no member has them."""
    return sorted({*in_use, *chosen})


@dataclass(frozen=True)
class LetIn:
    let_in: int
    members: int

    def words(self) -> str:
        """ "312 of 1,204 members"."""
        return f"{self.let_in:,} of {self.members:,} member{'s' * (self.members != 1)}"


async def count_let_in(db: AsyncSession, rule: Rule, terms: Terms) -> LetIn:
    """How many members the rule lets in (saved or not), out of all members, in one query."""
    allowed = func.count().filter(access_rules.lets_in(rule, terms))
    let_in, total = (await db.exec(select(allowed, func.count()).select_from(Member))).one()
    return LetIn(int(let_in), int(total))


async def would_get_in(
    db: AsyncSession, rule: Rule, who: str, terms: Terms
) -> tuple[Member | None, Decision | None]:
    """The member staff mean by `who` (username, email or iMIS ID) and the rule's answer."""
    member = await members.find_member(db, who)
    return member, None if member is None else access_rules.decide(rule, member, terms)


async def for_member(
    db: AsyncSession, member: Member, terms: Terms
) -> list[tuple[Vendor, Decision]]:
    """Every enabled vendor, by name, with its rule's answer for this member."""
    query = select(Vendor).where(col(Vendor.enabled)).order_by(col(Vendor.name))
    return [
        (vendor, access_rules.decide(access_rules.of_vendor(vendor), member, terms))
        for vendor in await db.exec(query)
    ]


def change(vendor: Vendor, rule: Rule, *, now: datetime) -> dict[str, dict[str, object]]:
    """Set the rule; returns what the audit log records of the change ({} when none), before
    and after in staff's words."""
    changed = audit.changes(
        {SETTING: access_rules.of_vendor(vendor).in_words()}, {SETTING: rule.in_words()}
    )
    if changed:
        access_rules.apply(vendor, rule)
        vendor.updated_at = now
    return changed

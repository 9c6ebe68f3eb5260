"""The vendor page's "Who may use this site" tab: the rule's form as chosen (saved, or not yet),
the values to choose from, and its preview — how many members it lets in, and whether one
member would get in."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession
from werkzeug.datastructures import MultiDict

from portal import access_rules, catalogue, clock, good_standing, settings, vendor_access
from portal.access_rules import Decision, Rule
from portal.errors import InvalidField
from portal.models import Member, Vendor

WHO = {
    "everyone": "Everyone who signs in",
    "good-standing": "Members in good standing only",
}


@dataclass(frozen=True)
class Draft:
    """The form as submitted: its values to show again, and the rule they make (None when
    refused, with the reason in `error`)."""

    who: str
    member_types: tuple[str, ...]
    statuses: tuple[str, ...]
    rule: Rule | None
    error: InvalidField | None = None


def read(form: MultiDict[str, str]) -> Draft:
    """The rule staff chose: a choice in WHO, and the ticked member types and statuses."""
    who = form.get("access", "")[:20]
    types = tuple(value[:100] for value in form.getlist("member_types")[:100])
    statuses = tuple(value[:100] for value in form.getlist("statuses")[:100])
    if who not in WHO:
        error = InvalidField("access", "Choose who may use the site.")
        return Draft(who, types, statuses, None, error)
    try:
        rule = access_rules.checked(who == "good-standing", types, statuses)
    except InvalidField as exc:
        return Draft(who, types, statuses, None, exc)
    return Draft(who, rule.member_types, rule.statuses, rule)


def of_rule(rule: Rule) -> Draft:
    return Draft(
        "good-standing" if rule.good_standing else "everyone",
        rule.member_types,
        rule.statuses,
        rule,
    )


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    checked: bool


@dataclass
class Card:
    """What the tab shows."""

    draft: Draft
    saved: Rule
    member_types: list[Choice] = field(default_factory=list)
    statuses: list[Choice] = field(default_factory=list)
    let_in: vendor_access.LetIn | None = None
    query: str = ""
    member: Member | None = None
    decision: Decision | None = None

    @property
    def unsaved(self) -> bool:
        return self.draft.rule != self.saved

    @property
    def errors(self) -> dict[str, str]:
        return {self.draft.error.field: str(self.draft.error)} if self.draft.error else {}


def choices(
    values: list[str], chosen: tuple[str, ...], meanings: Mapping[str, str]
) -> list[Choice]:
    return [
        Choice(value, catalogue.code_meaning(value, dict(meanings)) or value, value in chosen)
        for value in vendor_access.offered(values, chosen)
    ]


async def card(db: AsyncSession, vendor: Vendor, draft: Draft | None = None, who: str = "") -> Card:
    """The tab for the rule as chosen (`draft`; none: the saved rule), previewed for `who`
    (a username, email or iMIS ID)."""
    saved = access_rules.of_vendor(vendor)
    chosen = draft or of_rule(saved)
    types, statuses = await vendor_access.values_in_use(db)
    found = Card(
        chosen,
        saved,
        choices(types, chosen.member_types, catalogue.MEMBER_TYPES),
        choices(statuses, chosen.statuses, catalogue.MEMBER_STATUSES),
        query=who.strip()[:254],
    )
    if chosen.rule is None:  # refused: nothing to preview
        return found
    terms = good_standing.terms(settings.current(), clock.now())
    found.let_in = await vendor_access.count_let_in(db, chosen.rule, terms)
    if found.query:
        found.member, found.decision = await vendor_access.would_get_in(
            db, chosen.rule, found.query, terms
        )
    return found

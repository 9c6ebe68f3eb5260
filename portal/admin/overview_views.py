"""The overview: activity per vendor over 30 days, and what needs attention today."""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint
from quart.typing import ResponseReturnValue

from portal import (
    access_refusals,
    audit,
    audit_events,
    clock,
    db,
    front_ends,
    key_management,
    logout_notices,
    session_cookies,
    settings,
    vendors,
)
from portal.admin import vendor_page
from portal.admin.access import staff_required
from portal.admin.pages import render
from portal.auth import sessions, throttle

blueprint = Blueprint("admin_overview", __name__)
DAYS = 30
MAX_SERIES = 6  # what the chart can colour apart; the smallest vendors are summed beyond that


@dataclass(frozen=True)
class Chart:
    labels: list[str]
    series: list[dict[str, Any]]
    total: int

    def description(self, what: str) -> str:
        if not self.total:
            return f"No {what} in the last {DAYS} days."
        top = max(self.series, key=lambda s: sum(s["values"]))
        counted = what if self.total != 1 else what.removesuffix("s")  # "1 sign-in"
        return f"{self.total:,} {counted} in the last {DAYS} days; the most at {top['name']}."


def start_of_day(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)


def chart(
    counts: dict[tuple[str | None, date], int], days: list[date], names: dict[str, str]
) -> Chart:
    """Per-vendor daily series; beyond MAX_SERIES vendors the smallest become "Other vendors"."""
    totals = Counter[str]()
    for (key, _), n in counts.items():
        totals[key or "(none)"] += n
    ranked = [key for key, _ in totals.most_common()]
    shown = ranked if len(ranked) <= MAX_SERIES else ranked[: MAX_SERIES - 1]
    series = [
        {"name": names.get(key, key), "values": [counts.get((key, d), 0) for d in days]}
        for key in shown
    ]
    rest = ranked[len(shown) :]
    if rest:
        values = [sum(counts.get((key, d), 0) for key in rest) for d in days]
        series.append({"name": "Other vendors", "values": values})
    labels = [f"{d.day} {d:%b}" for d in days]
    return Chart(labels, series, sum(totals.values()))


@dataclass(frozen=True)
class VendorProblem:
    failure: audit.VendorFailure
    described: audit_events.Described


def vendor_problems(
    failures: list[audit.VendorFailure], names: dict[str, str]
) -> list[VendorProblem]:
    """The failures staff should act on; expected outcomes (a silent sign-in check finding
    nobody signed in) and failures with nothing to fix are no errors."""
    found = []
    for f in failures:
        words = audit_events.describe(
            f.event, "failure", {"reason": f.reason}, names.get(f.vendor_key, f.vendor_key)
        )
        if words.kind == "problem":
            found.append(VendorProblem(f, words))
    return found


RESEAL = (
    "Ask your operator to put the previous secret key back in PORTAL_SECRET_KEY_FALLBACKS and "
    "run `portal keys reseal` (docs/operations.md, rotating PORTAL_SECRET_KEY)"
)


def key_warnings(problems: key_management.Problems) -> list[str]:
    """Stored keys the portal's secret key cannot open, in staff words, with what to do."""
    found = []
    if problems.unopenable:
        found.append(
            f"The portal cannot open {len(problems.unopenable)} of its token-signing keys: its "
            "secret key was changed before they were re-encrypted. Sign-ins still work, with "
            f"another key. {RESEAL}; if that key is lost, to run `portal keys rotate --now`."
        )
    if problems.pairwise_unopenable:
        found.append(
            "The portal cannot open the key of the identifiers members have at sites that get "
            "an identifier of their own, so members cannot sign in to those sites. "
            f"{RESEAL}."
        )
    return found


@blueprint.get("/admin/")
@staff_required()
async def overview() -> ResponseReturnValue:
    now = clock.now()
    today = start_of_day(now)
    first = today - timedelta(days=DAYS - 1)
    days = [(first + timedelta(days=i)).date() for i in range(DAYS)]
    throttle_policy = throttle.Policy.from_settings(settings.current())
    async with db.transaction() as s:
        registered = await vendors.select_vendors(s)
        names = {v.key: v.name for v in registered}
        # A turned-off site signs nobody in: what needs doing about it can wait until it is on.
        attention = await vendor_page.attention(s, [v for v in registered if v.enabled], now)
        # Every front end's issue to a vendor: an Enhanced token, an OpenID Connect code.
        issued = await audit.daily_counts(s, front_ends.issued_events(), since=first)
        redeemed = await audit.daily_counts(s, ["token.redeemed"], since=first)
        figures = {
            "active_sessions": await sessions.count_member_sessions(
                s, now=now, policy=session_cookies.policy()
            ),
            "sign_ins_today": await audit.count(s, "sign_in", "success", since=today),
            "failed_today": await audit.count(s, "sign_in", "failure", since=today),
            "locked": await throttle.count_refusing_accounts(s, now=now, policy=throttle_policy),
            # Every outcome: a refusal is "expected" (the rule working), yet staff want the count.
            "refused_by_rules": await audit.count(s, access_refusals.EVENT, None, since=first),
        }
        failures = await audit.vendor_failures(s, since=now - timedelta(hours=24))
        elsewhere = await audit.portal_failures(s, since=now - timedelta(hours=24))
        keys = await key_management.problems(s, now=now, settings=settings.current())
    problems = vendor_problems(failures, names)
    portal_wide = [
        p
        for p in vendor_problems(elsewhere, names)
        if not audit_events.names_a_vendor(p.failure.event)
    ]
    return await render(
        "admin/overview/index.html",
        figures=figures,
        sign_ins=chart(issued, days, names),
        issued_events={f.label: f.issued_event for f in front_ends.registered()},
        redemptions=chart(redeemed, days, names),
        problems=problems,
        portal_wide=portal_wide,
        key_warnings=key_warnings(keys),
        vendor_warnings=[warning for found in attention.values() for warning in found],
        failing_vendors=len({p.failure.vendor_key for p in problems}),
        names=names,
        refusals_link=refusals_link(first),
        sending_notices=logout_notices.sending(settings.current()),
    )


def refusals_link(since: datetime) -> str:
    """The audit log of access-rule refusals over the overview's period."""
    query = urlencode({"event": access_refusals.EVENT, "from": since.date().isoformat()})
    return f"/admin/audit?{query}"


@blueprint.get("/admin/styleguide")
@staff_required()
async def styleguide() -> ResponseReturnValue:
    return await render("admin/styleguide.html")

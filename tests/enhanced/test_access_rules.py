"""A vendor's access rule at the Enhanced front end (issue 25), through its real endpoints: the
token is issued only when the rule lets the member in — after the sign-in and at every silent
re-issue — else the member sees the refusal page (a passive request: error=access_denied), and
"My sites" lists only the sites the member may use."""

from datetime import date
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import text
from sqlmodel import col, select

from portal import access_rules
from portal.access_rules import Rule
from portal.enhanced import access_refused, requests
from portal.enhanced.vendor_records import VendorRef
from portal.models import Vendor
from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import VendorLogin, add_member, add_vendor, page, sign_in, token_for, unit_of_work

DEEP_LINK = "https://acme-learning.com/courses/7"
RENEW = "https://members.example.org/renew"
LAPSED_ON = date(2026, 11, 1)  # the tests' clock stands at 27 November 2026
GOOD_STANDING = Rule(good_standing=True)
STUDENTS = Rule(member_types=("STU",))


@pytest.fixture
async def renewing_app(settings: Settings, clock: FakeClock) -> Any:
    async with running_app(settings, clock, renewal_url=RENEW) as app:
        yield app


async def set_rule(database_url: str, rule: Rule, key: str = "acme") -> None:
    """What staff's change of the rule writes: the vendor row, in a transaction of its own."""
    async with unit_of_work(database_url) as session:
        vendor = (await session.exec(select(Vendor).where(col(Vendor.key) == key))).one()
        access_rules.apply(vendor, rule)
        session.add(vendor)


async def run(database_url: str, statement: str) -> list[Any]:
    async with unit_of_work(database_url) as session:
        return list((await session.execute(text(statement))).all())


async def refusals(database_url: str) -> list[dict[str, Any]]:
    rows = await run(
        database_url,
        "SELECT vendor_key, member_id, outcome, details FROM audit_event"
        " WHERE event = 'access.refused' ORDER BY id",
    )
    return [dict(row._mapping) for row in rows]


async def issued(database_url: str) -> tuple[int, int, int]:
    """Tokens, token.issued events and session_vendor rows: each written only with a token."""
    (counts,) = await run(
        database_url,
        "SELECT (SELECT count(*) FROM sso_token), (SELECT count(*) FROM audit_event"
        " WHERE event = 'token.issued'), (SELECT count(*) FROM session_vendor)",
    )
    return tuple(counts)


def back_link(html: str) -> str:
    start = html.index('data-testid="back-to-site"')
    anchor = html.rindex("<a ", 0, start)
    return html[anchor:start].split('href="', 1)[1].split('"', 1)[0]


async def test_a_lapsed_member_is_refused_at_sign_in_and_told_why_and_what_to_do(
    renewing_app: Quart, acme: VendorLogin, database_url: str
) -> None:
    await add_member(database_url, paid_through=LAPSED_ON)
    await set_rule(database_url, GOOD_STANDING)
    client = renewing_app.test_client()

    signed_in = await sign_in(client, vendor="acme", ReturnURL=DEEP_LINK)
    assert signed_in.status_code == 303
    refused = await client.get(signed_in.headers["Location"])
    html = await refused.get_data(as_text=True)

    assert refused.status_code == 403
    assert "You cannot use Acme Learning with your membership" in html
    assert (
        "Acme Learning is for members whose membership is current; "
        "yours lapsed on 1 November 2026." in html
    )
    assert f'href="{RENEW}" data-testid="renewal-link"' in html
    assert 'href="/help" data-testid="help-link"' in html
    assert back_link(html) == DEEP_LINK
    assert "token" not in (await page(refused)).hidden
    assert await issued(database_url) == (0, 0, 0)
    # The session's first token has not gone: the flag that it followed a password stays.
    assert await run(database_url, "SELECT fresh_sign_in FROM auth_session") == [(True,)]
    [event] = await refusals(database_url)
    assert (event["vendor_key"], event["member_id"], event["outcome"]) == ("acme", 1, "failure")
    expected = {
        "reason": "not_in_good_standing",
        "rule": "Members in good standing",
        "why": "Refused: not in good standing (paid through 1 November 2026)",
        "front_end": "enhanced",
        "passive": False,
    }
    assert {name: event["details"].get(name) for name in expected} == expected


async def test_a_member_who_lapses_is_refused_at_the_next_silent_re_issue(
    renewing_app: Quart, acme: VendorLogin, database_url: str
) -> None:
    await add_member(database_url)
    await set_rule(database_url, GOOD_STANDING)
    client = renewing_app.test_client()
    await sign_in(client)
    assert await token_for(client, vendor="acme")
    assert await issued(database_url) == (1, 1, 1)

    await run(database_url, f"UPDATE member SET paid_through = '{LAPSED_ON}' RETURNING id")
    refused = await client.get("/sso/signin", query_string={"vendor": "acme"})
    html = await refused.get_data(as_text=True)
    assert refused.status_code == 403 and "yours lapsed on 1 November 2026" in html
    # No ReturnURL: back to the vendor's sign-out page (its start page would sign in again).
    assert back_link(html) == "https://acme-learning.com/goodbye"
    assert await issued(database_url) == (1, 1, 1)
    assert [e["details"]["reason"] for e in await refusals(database_url)] == [
        "not_in_good_standing"
    ]

    await run(database_url, "UPDATE member SET paid_through = '2027-12-31' RETURNING id")
    assert await token_for(client, vendor="acme")  # renewed: in again at once


async def test_a_passive_request_gets_access_denied_and_no_page(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    await add_member(database_url, paid_through=LAPSED_ON)
    await set_rule(database_url, GOOD_STANDING)
    client = app.test_client()
    await sign_in(client)
    state = {"state": "s-1", "ReturnURL": DEEP_LINK}
    answer = await client.get(
        "/sso/signin", query_string={"vendor": "acme", "passive": "1", **state}
    )
    form = await page(answer)

    assert answer.status_code == 200
    assert form.forms[0]["action"] == "https://acme-learning.com/sso/token"
    assert form.hidden == {"error": "access_denied", **state}
    assert "Acme Learning is not open to you" in await answer.get_data(as_text=True)
    assert await issued(database_url) == (0, 0, 0)
    [event] = await refusals(database_url)
    assert event["details"]["passive"] is True
    assert event["details"]["reason"] == "not_in_good_standing"


async def test_a_rule_change_takes_effect_on_the_next_request(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    await add_member(database_url)  # a REG member in good standing
    client = app.test_client()
    await sign_in(client)
    assert await token_for(client, vendor="acme")

    await set_rule(database_url, STUDENTS)
    refused = await client.get("/sso/signin", query_string={"vendor": "acme"})
    html = await refused.get_data(as_text=True)
    assert refused.status_code == 403
    assert "Acme Learning is for STU members; yours is REG." in html
    assert 'data-testid="renewal-link"' not in html  # renewing would not change the type
    [event] = await refusals(database_url)
    assert event["details"]["reason"] == "member_type"
    assert event["details"]["rule"] == "Members whose member type is STU"
    assert event["details"]["why"] == "Refused: member type REG is not STU"

    await set_rule(database_url, Rule(member_types=("STU", "REG")))
    assert await token_for(client, vendor="acme")
    await set_rule(database_url, Rule(statuses=("I",)))
    assert (await client.get("/sso/signin?vendor=acme")).status_code == 403
    await set_rule(database_url, Rule())
    assert await token_for(client, vendor="acme")
    assert (await issued(database_url))[:2] == (3, 3)


async def test_without_a_sign_out_page_the_way_back_is_the_vendors_domain(
    app: Quart, database_url: str
) -> None:
    await add_vendor(database_url, signout_url=None)
    await add_member(database_url, member_type="STU")
    await set_rule(database_url, Rule(member_types=("REG",)))
    client = app.test_client()
    await sign_in(client)
    refused = await client.get("/sso/signin?vendor=acme")
    assert refused.status_code == 403
    assert back_link(await refused.get_data(as_text=True)) == "https://acme-learning.com/"


async def test_a_rule_that_lets_the_member_in_when_read_again_still_refuses_this_once(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    """The statement refused, then staff opened the rule before the page was made: the refusal
    stands (the statement decides; no second reading turns it into a token), in words that
    say the rule just changed, audited as rule_changed."""
    await add_member(database_url)
    token_url = "https://acme-learning.com/sso/token"
    vendor = VendorRef(0, "acme", "Acme Learning", token_url, None, True, "enhanced")
    sso = requests.SsoRequest(vendor, token_url, ["acme-learning.com"], None, None, False)
    async with app.test_request_context("/sso/signin?vendor=acme"):
        found, decision = await access_refused.recorded(sso, 1)
        refused = await access_refused.page(sso, found, decision)
    html = await refused.get_data(as_text=True)
    assert refused.status_code == 403
    assert "Acme Learning&#39;s access rule changed just as you were signing in" in html
    [event] = await refusals(database_url)
    assert event["details"]["reason"] == "rule_changed"
    assert event["details"]["rule"] == "Everyone who signs in"


@pytest.mark.parametrize(("path", "testid"), [("/", "my-sites"), ("/account", "account-sites")])
async def test_my_sites_lists_only_the_sites_the_member_may_use(
    app: Quart, database_url: str, path: str, testid: str
) -> None:
    await add_member(database_url)  # REG, in good standing
    await add_vendor(database_url)
    await add_vendor(database_url, key="campus", name="Student Campus", domain="campus.org")
    await add_vendor(database_url, key="library", name="Library", domain="library.org")
    await set_rule(database_url, STUDENTS, "campus")
    await set_rule(database_url, GOOD_STANDING, "library")
    client = app.test_client()
    await sign_in(client)

    async def listed() -> str:
        response = await client.get(path)
        html = await response.get_data(as_text=True)
        start = html.index(f'data-testid="{testid}"')
        return html[start : html.index("</ul>", start)]

    sites = await listed()
    assert "Acme Learning" in sites and "Library" in sites and "Student Campus" not in sites
    await run(
        database_url, "UPDATE member SET member_type = 'STU', paid_through = NULL RETURNING id"
    )
    sites = await listed()
    assert "Student Campus" in sites and "Library" not in sites and "Acme Learning" in sites

"""Who may use a vendor's site, as staff set it on the vendor page: saved and audited before →
after in words, admins only; previewed before saving (how many members the rule as chosen lets
in, whether one member would get in); bad input refused with its reason, nothing saved. And
what staff see of the rules elsewhere: the vendor list, the member page, the overview."""

from datetime import date, timedelta

from sqlmodel import col, select

from portal import access_refusals, access_rules
from portal.access_rules import Rule
from portal.good_standing import Terms
from portal.models import Member, Vendor
from tests.admin.browser import Browser, text
from tests.admin.test_vendor_views import audit_events
from tests.conftest import FakeClock
from tests.flows import add_member, add_vendor, unit_of_work

LAPSED_ON = date(2026, 6, 30)  # the tests' clock is 27 November 2026


async def three_members(database_url: str) -> None:
    """A current regular member, a lapsed regular member and a current student."""
    await add_member(database_url)  # ada: REG, status A, paid through 2030
    await add_member(
        database_url, imis_id="102", username="bob", email="bob@example.org", paid_through=LAPSED_ON
    )
    await add_member(
        database_url, imis_id="103", username="cy", email="cy@example.org", member_type="STU"
    )


async def rule_of(database_url: str, key: str = "acme") -> Rule:
    async with unit_of_work(database_url) as s:
        vendor = (await s.exec(select(Vendor).where(col(Vendor.key) == key))).one()
        return access_rules.of_vendor(vendor)


async def set_rule(database_url: str, rule: Rule, key: str = "acme") -> None:
    async with unit_of_work(database_url) as s:
        vendor = (await s.exec(select(Vendor).where(col(Vendor.key) == key))).one()
        access_rules.apply(vendor, rule)
        s.add(vendor)


async def test_saving_the_rule_audits_before_and_after_in_words(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    await three_members(database_url)
    page = await text(await admin.get("/admin/vendors/acme"))
    assert "Who may use this site" in page and "Saved: <strong>Everyone who signs in" in page
    assert 'value="REG"' in page and 'value="STU"' in page  # the member types members have
    form = [("access", "good-standing"), ("member_types", "STU"), ("member_types", "REG")]
    response = await admin.post("/admin/vendors/acme/access", form, htmx=True)
    body = await text(response)
    assert response.status_code == 200, body
    assert "Who may use the site saved." in body
    assert await rule_of(database_url) == Rule(True, ("STU", "REG"))
    [event] = await audit_events(database_url, "vendor.access_changed")
    assert event.staff_email == "admin@example.org" and event.vendor_key == "acme"
    assert event.details["changes"] == {
        "access": {
            "before": "Everyone who signs in",
            "after": "Members in good standing whose member type is STU or REG",
        }
    }
    shown = await text(await admin.get(f"/admin/audit/{event.id}"))
    assert "Who may use Acme Learning changed" in shown and "Who may use the site" in shown

    again = await admin.post("/admin/vendors/acme/access", form, htmx=True)
    assert "Who may use the site unchanged." in await text(again)
    assert len(await audit_events(database_url, "vendor.access_changed")) == 1
    plain = await admin.post("/admin/vendors/acme/access", [("access", "everyone")])
    assert plain.status_code == 303 and plain.headers["Location"].endswith("#tab-access")
    assert await rule_of(database_url) == Rule()


async def test_a_viewer_sees_the_rule_and_cannot_change_it(
    viewer: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    page = await text(await viewer.get("/admin/vendors/acme"))
    assert "Who may use this site" in page and 'id="save-access"' not in page
    response = await viewer.post("/admin/vendors/acme/access", {"access": "good-standing"})
    assert response.status_code == 403
    assert "Only admins can make changes" in await text(response)
    assert await rule_of(database_url) == Rule()
    assert await audit_events(database_url, "vendor.access_changed") == []


async def test_the_preview_counts_the_members_an_unsaved_rule_lets_in(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    await three_members(database_url)
    preview = "/admin/vendors/acme/access/preview"
    saved = await text(await admin.get(preview, htmx=True))
    assert "<strong>3 of 3 members</strong>" in saved and "Saved rule" in saved
    good = await text(await admin.get(preview, htmx=True, access="good-standing"))
    assert "<strong>2 of 3 members</strong>" in good
    assert "Rule not saved yet: Members in good standing" in good
    students = await admin.client.get(
        preview,
        headers={"HX-Request": "true"},
        query_string=[("access", "everyone"), ("member_types", "STU"), ("statuses", "A")],
    )
    assert "<strong>1 of 3 members</strong>" in await text(students)
    assert await rule_of(database_url) == Rule()  # nothing saved


async def test_would_this_member_get_in_answers_for_the_rule_as_chosen(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    await three_members(database_url)
    preview = "/admin/vendors/acme/access/preview"

    async def check(who: str, **rule: str) -> str:
        body = await text(await admin.get(preview, htmx=True, access_member=who, **rule))
        return body.split('data-testid="access-decision">')[1].split("</p>")[0]

    assert "<strong>Allowed</strong>" in await check("bob")  # the saved rule: everyone
    refused = await check("bob@example.org", access="good-standing")
    assert "Refused: not in good standing (paid through 30 June 2026)" in refused
    assert "<strong>Allowed</strong>" in await check("101", access="good-standing")
    students_only = [("access", "everyone"), ("member_types", "STU"), ("access_member", "101")]
    by_type = await text(
        await admin.client.get(preview, headers={"HX-Request": "true"}, query_string=students_only)
    )
    assert "Refused: member type REG is not STU" in by_type
    nobody = await text(await admin.get(preview, htmx=True, access_member="nobody"))
    assert "No member matches “nobody”." in nobody
    # Without script: the whole page, with the rule the preview was for.
    page = await text(await admin.get(preview, access="good-standing", access_member="bob"))
    assert "<title>" in page and "Refused: not in good standing" in page


async def test_bad_input_is_refused_with_its_reason_and_nothing_saved(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    unknown = await admin.post("/admin/vendors/acme/access", {"access": "staff-only"}, htmx=True)
    assert unknown.status_code == 422
    assert "Choose who may use the site." in await text(unknown)
    too_many = [("access", "everyone"), *(("member_types", f"T{i}") for i in range(51))]
    response = await admin.post("/admin/vendors/acme/access", too_many, htmx=True)
    assert response.status_code == 422 and "Choose at most 50." in await text(response)
    odd = await admin.post(
        "/admin/vendors/acme/access", {"access": "everyone", "statuses": "A\x07"}, htmx=True
    )
    assert odd.status_code == 422 and "is not a member type or status" in await text(odd)
    preview = await admin.get("/admin/vendors/acme/access/preview", htmx=True, access="x")
    assert preview.status_code == 400
    assert "Choose who may use the site." in await text(preview)
    assert await rule_of(database_url) == Rule()
    assert await audit_events(database_url, "vendor.access_changed") == []
    missing = await admin.post("/admin/vendors/nope/access", {"access": "everyone"})
    assert missing.status_code == 404


async def test_a_value_no_member_has_is_still_offered_while_the_rule_names_it(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    await add_member(database_url)
    await set_rule(database_url, Rule(member_types=("HON",), statuses=("A",)))
    page = await text(await admin.get("/admin/vendors/acme"))
    types = page.split('data-testid="access-member-types"')[1].split("</ul>")[0]
    assert 'value="HON"' in types and 'value="REG"' in types
    assert 'value="HON" checked' in types and 'value="REG" checked' not in types
    assert "Members whose member type is HON and whose status is A" in page


async def test_the_vendor_list_says_who_each_site_is_for(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    await add_vendor(database_url, "club", "Members' Club", domain="club.example.org")
    await set_rule(database_url, Rule(good_standing=True), key="club")
    body = await text(await admin.get("/admin/vendors"))
    [shown] = [part.split("</span>")[0] for part in body.split('data-testid="access-rule">')[1:]]
    assert shown == "Open to: Members in good standing"


async def test_the_member_page_shows_each_enabled_site_s_answer(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    await add_vendor(database_url, "club", "Members' Club", domain="club.example.org")
    await add_vendor(database_url, "old", "Old Site", domain="old.example.org")
    await set_rule(database_url, Rule(good_standing=True), key="club")
    async with unit_of_work(database_url) as s:
        old = (await s.exec(select(Vendor).where(col(Vendor.key) == "old"))).one()
        old.enabled = False
        s.add(old)
    await three_members(database_url)
    async with unit_of_work(database_url) as s:
        bob = (await s.exec(select(Member).where(col(Member.username) == "bob"))).one()
    body = await text(await admin.get(f"/admin/members/{bob.id}"))
    table = body.split('data-testid="member-site-access"')[1].split("</table>")[0]
    rows = [row.split("</tr>")[0] for row in table.split("<tr>")[2:]]
    assert len(rows) == 2 and "Old Site" not in table  # enabled sites only, by name
    assert "Acme Learning" in rows[0] and "Allowed" in rows[0]
    assert "Members&#39; Club" in rows[1] and "Refused" in rows[1]
    assert "not in good standing (paid through 30 June 2026)" in rows[1]


async def test_the_overview_counts_refusals_by_access_rules_with_a_link(
    admin: Browser, database_url: str, clock: FakeClock
) -> None:
    await add_vendor(database_url)
    await three_members(database_url)
    async with unit_of_work(database_url) as s:
        vendor = (await s.exec(select(Vendor).where(col(Vendor.key) == "acme"))).one()
        bob = (await s.exec(select(Member).where(col(Member.username) == "bob"))).one()
        assert bob.id is not None
        rule = Rule(good_standing=True)
        decision = access_rules.decide(rule, bob, Terms(clock.current.date()))
        for _ in range(3):
            await access_refusals.record(
                s, vendor, bob.id, decision, front_end="enhanced", client_address=None
            )
    body = await text(await admin.get("/admin/"))
    count = body.split('data-testid="refused-by-rules">')[1].split("<")[0]
    assert count == "3"
    since = (clock.current - timedelta(days=29)).date().isoformat()
    assert f'href="/admin/audit?event=access.refused&amp;from={since}"' in body

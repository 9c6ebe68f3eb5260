from datetime import UTC, date, datetime, timedelta

from quart import Quart

from portal.admin import overview_views
from portal.admin.overview_views import chart, start_of_day
from portal.audit_models import AuditEvent
from portal.auth.models import SignInThrottle
from tests.admin.browser import Browser, text
from tests.admin.test_member_views import member_id
from tests.conftest import FakeClock
from tests.flows import add_member, add_vendor, sign_in, unit_of_work
from tests.oidc.oidc_flows import add_oidc_vendor, tokens_for


def test_a_chart_has_a_series_per_vendor_and_sums_the_smallest() -> None:
    days = [date(2026, 11, 1), date(2026, 11, 2)]
    counts = {(f"v{i}", days[1]): 10 - i for i in range(8)} | {("v0", days[0]): 4}
    result = chart(counts, days, {"v0": "Vendor Zero"})
    assert [s["name"] for s in result.series] == [
        "Vendor Zero",
        "v1",
        "v2",
        "v3",
        "v4",
        "Other vendors",
    ]
    assert result.series[0]["values"] == [4, 10]
    assert result.series[-1]["values"] == [0, 5 + 4 + 3]
    assert result.labels == ["1 Nov", "2 Nov"] and result.total == 4 + sum(range(3, 11))
    assert "the most at Vendor Zero" in result.description("sign-ins")


def test_days_start_at_midnight_utc() -> None:
    assert start_of_day(datetime(2026, 11, 27, 23, 59, tzinfo=UTC)) == datetime(
        2026, 11, 27, tzinfo=UTC
    )


async def test_the_overview_counts_from_the_audit_log(
    admin: Browser, database_url: str, clock: FakeClock
) -> None:
    await add_vendor(database_url)
    today = start_of_day(clock.current)
    async with unit_of_work(database_url) as s:
        for days_ago, n in [(0, 3), (1, 5), (29, 2), (30, 7)]:
            for _ in range(n):
                at = today - timedelta(days=days_ago) + timedelta(hours=1)
                s.add(
                    AuditEvent(
                        event="token.issued", outcome="success", vendor_key="acme", occurred_at=at
                    )
                )
        # Every front end's issue counts: an OpenID Connect code is a sign-in at a site too.
        s.add(AuditEvent(event="oidc.authorized", outcome="success", vendor_key="acme",
                         occurred_at=today + timedelta(hours=1)))  # fmt: skip
        for outcome, n in [("success", 4), ("failure", 6)]:
            for _ in range(n):
                s.add(
                    AuditEvent(
                        event="sign_in", outcome=outcome, occurred_at=today + timedelta(hours=2)
                    )
                )
        s.add(
            AuditEvent(event="sign_in", outcome="failure", occurred_at=today - timedelta(hours=1))
        )
        for i in range(3):
            at, why = clock.current - timedelta(hours=i * 10), {"reason": "expired"}
            s.add(AuditEvent(event="token.rejected", outcome="failure", vendor_key="acme",
                             occurred_at=at, details=why))  # fmt: skip
        s.add(SignInThrottle(scope="account", subject="member:9", consecutive_failures=100))
        s.add(SignInThrottle(scope="account", subject="member:8", consecutive_failures=6,
                             blocked_until=clock.current + timedelta(minutes=1)))  # fmt: skip
        s.add(SignInThrottle(scope="account", subject="member:7", consecutive_failures=6,
                             blocked_until=clock.current - timedelta(minutes=1)))  # fmt: skip
    body = await text(await admin.get("/admin/"))
    stat = lambda label: body.split(f'stat__label">{label}</p>')[1].split("</p>")[0].split(">")[-1]  # noqa: E731
    assert stat("Failed sign-ins today") == "6"
    assert "4 successful" in body
    assert stat("Locked or held back now") == "2"  # member:8 waits out a delay right now
    assert stat("Vendors with errors") == "1"
    assert "Token refused for Acme Learning: token expired before it was redeemed" in body
    assert "Ask its developers to redeem it as soon as it arrives" in body
    assert "11 sign-ins in the last 30 days; the most at Acme Learning." in body  # 4 + 5 + 2
    assert "<title>27 Nov · Acme Learning: 4</title>" in body
    assert 'href="/admin/audit?event=oidc.authorized"' in body


async def test_an_empty_overview_says_so(admin: Browser) -> None:
    body = await text(await admin.get("/admin/"))
    assert "No sign-ins in the last 30 days" in body and "No vendor errors" in body


async def test_a_silent_check_finding_nobody_signed_in_is_no_vendor_error(
    admin: Browser, database_url: str, clock: FakeClock
) -> None:
    await add_vendor(database_url, backchannel_logout_url="https://acme-learning.com/sso/logout")
    async with unit_of_work(database_url) as s:
        why = {"reason": "login_required"}
        for _ in range(4):
            s.add(AuditEvent(event="sso.passive", outcome="failure", vendor_key="acme",
                             occurred_at=clock.current, details=why))  # fmt: skip
    body = await text(await admin.get("/admin/"))
    assert "No vendor errors" in body and "Silent sign-in check" not in body
    stat = body.split('stat__label">Vendors with errors</p>')[1].split("</p>")[0]
    assert stat.endswith(">0")
    async with unit_of_work(database_url) as s:
        why = {"reason": "wrong_secret"}
        s.add(AuditEvent(event="vendor.auth", outcome="failure", vendor_key="acme",
                         occurred_at=clock.current, details=why))  # fmt: skip
    body = await text(await admin.get("/admin/"))
    assert "Acme Learning could not log in to the user service: wrong API secret" in body
    assert "Create a new secret on its Secrets tab" in body


async def test_an_imis_outage_is_an_error_to_act_on(
    admin: Browser, database_url: str, clock: FakeClock
) -> None:
    async with unit_of_work(database_url) as s:
        why = {"reason": "directory_unavailable"}
        for _ in range(3):
            s.add(AuditEvent(event="sign_in", outcome="failure", occurred_at=clock.current,
                             details=why))  # fmt: skip
        s.add(AuditEvent(event="vendor.auth", outcome="failure", occurred_at=clock.current,
                         details={"reason": "unknown_vendor"}))  # fmt: skip
    body = await text(await admin.get("/admin/"))
    errors = body.split('id="portal-errors"')[1].split("</section>")[0]
    assert "Member sign-in failed: iMIS did not answer (3 times)." in errors
    assert "Check that iMIS is up" in errors
    assert "could not log in" not in errors  # a made-up vendor key is nobody to call


async def test_a_sign_in_through_openid_connect_is_a_series_of_the_sign_in_chart(
    app: Quart, admin: Browser, database_url: str
) -> None:
    """Issue 26, item 2: every protocol counts everywhere — a member who signed in only at an
    OpenID Connect site shows on the chart, and on their page as a site their session used."""
    learn = await add_oidc_vendor(database_url)
    await add_member(database_url)
    browser = app.test_client()
    assert (await sign_in(browser)).status_code == 303
    await tokens_for(browser, learn)
    body = await text(await admin.get("/admin/"))
    chart = body.split('id="chart-signins"')[1].split("</svg>")[0]
    assert 'chart__swatch"></span>Learn Academy</li>' in chart
    member = await text(await admin.get(f"/admin/members/{await member_id(database_url)}"))
    assert 'Sites: <a href="/admin/vendors/learn">Learn Academy</a>' in member


def test_one_sign_in_is_counted_in_the_singular() -> None:
    one = overview_views.Chart(["1 Dec"], [{"name": "Acme Learning", "values": [1]}], 1)
    assert (
        one.description("sign-ins") == "1 sign-in in the last 30 days; the most at Acme Learning."
    )

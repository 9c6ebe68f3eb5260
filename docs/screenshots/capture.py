"""Regenerate the README's screenshots.

    PORTAL_DATA_DIR=/tmp/shots uv run portal demo --port 8040 &   # demo data, portal, vendors
    PORTAL_DATA_DIR=/tmp/shots uv run python docs/screenshots/capture.py http://127.0.0.1:8040

Adds a month of made-up activity to the demo database (once), then signs in as the demo admin
in Chromium and saves dashboard-overview.png and dashboard-vendor.png next to this file; then
signs in as ada at the demo vendor (http://localhost:8001) and saves demo-vendor-home.png,
portal-sign-in.png and demo-vendor-signed-in.png."""

import asyncio
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from playwright.async_api import Page, async_playwright
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import db, members, vendors
from portal.crypto import digest, new_secret
from portal.demo.data import DEMO_PASSWORD, ensure_vendor
from portal.models import AuditEvent, AuthSession, Member, SignInThrottle, SsoToken, Vendor
from portal.settings import load_settings

HERE = Path(__file__).resolve().parent
VENDORS = {"acme-learning": 58, "careerhub": 34, "evently": 21, "ledger-ce": 12}
PEOPLE = [
    ("104", "katherine", "Katherine", "Johnson", "FEL"),
    ("105", "dorothy", "Dorothy", "Vaughan", "REG"),
    ("106", "mary", "Mary", "Jackson", "REG"),
    ("107", "hedy", "Hedy", "Lamarr", "STU"),
    ("108", "radia", "Radia", "Perlman", "FEL"),
    ("109", "barbara", "Barbara", "Liskov", "REG"),
]


async def seed(s: AsyncSession) -> None:
    if (await s.exec(select(AuditEvent).where(col(AuditEvent.event) == "token.issued"))).first():
        return
    await ensure_vendor(s, "evently", "Evently Conferences", "http://localhost:8003")
    await ensure_vendor(s, "ledger-ce", "Ledger CE Credits", "http://localhost:8004")
    for imis_id, username, first, last, kind in PEOPLE:
        values = {
            "imis_id": imis_id,
            "username": username,
            "email": f"{username}@example.org",
            "first_name": first,
            "last_name": last,
            "member_type": kind,
            "paid_through": date(2030, 12, 31),
        }
        await members.add_member(s, members.parse_member(values), DEMO_PASSWORD)
    now = datetime.now(UTC)
    for day in range(30):
        when = now - timedelta(days=29 - day)
        weekend = when.weekday() >= 5
        for k, (key, base) in enumerate(VENDORS.items()):
            count = int((base + (day * 7 + k * 5) % 11 * (4 - k)) * (0.45 if weekend else 1))
            for i in range(count):
                at = when.replace(hour=8 + i % 10, minute=(i * 7) % 60)
                s.add(
                    AuditEvent(
                        event="token.issued", outcome="success", vendor_key=key, occurred_at=at
                    )
                )
                s.add(
                    AuditEvent(
                        event="token.redeemed", outcome="success", vendor_key=key, occurred_at=at
                    )
                )
            s.add(AuditEvent(event="sign_in", outcome="success", occurred_at=when, username="ada"))
    for i in range(14):
        at = now - timedelta(hours=i)
        reason = {"reason": "expired"}
        s.add(
            AuditEvent(
                event="token.rejected",
                outcome="failure",
                vendor_key="careerhub",
                occurred_at=at,
                details=reason,
            )
        )
    for i in range(6):
        at = now - timedelta(minutes=5 * i)
        reason = {"reason": "wrong_password"}
        s.add(
            AuditEvent(
                event="sign_in", outcome="failure", username="grace", occurred_at=at, details=reason
            )
        )
    await live_sessions(s, now)


async def live_sessions(s: AsyncSession, now: datetime) -> None:
    everyone = list(await s.exec(select(Member).order_by(col(Member.id))))
    by_key = {v.key: v for v in await s.exec(select(Vendor))}
    for n, member in enumerate(everyone[:7]):
        row = AuthSession(
            id_hash=digest(new_secret()),
            member_id=member.id,
            created_at=now - timedelta(minutes=90 - n * 11),
            last_seen_at=now - timedelta(minutes=n * 3),
            expires_at=now + timedelta(hours=10),
            client_address=f"203.0.113.{20 + n}",
            user_agent="Mozilla/5.0 (Macintosh) Firefox/132.0",
        )
        s.add(row)
        await s.flush()
        for key in list(VENDORS)[: 1 + n % 3]:
            issued = now - timedelta(minutes=30)
            token = SsoToken(
                token_hash=digest(new_secret()),
                vendor_id=by_key[key].id,
                member_id=member.id,
                session_id=row.id,
                issued_at=issued,
                expires_at=issued + timedelta(minutes=1),
                redeemed_at=issued,
            )
            s.add(token)
    grace = await members.select_member_by_login(s, "grace")
    assert grace is not None
    s.add(SignInThrottle(scope="account", subject=f"member:{grace.id}", consecutive_failures=100))
    acme = await vendors.get_vendor(s, "acme-learning")
    await vendors.replace_fields(
        s, acme, [*vendors.DEFAULT_FIELDS[:4], vendors.FieldChoice("IsMember")]
    )


async def capture(base: str) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{base}/admin/sign-in")
        await page.get_by_label("Email").fill("admin@example.org")
        await page.get_by_label("Password").fill(DEMO_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{base}/admin/")
        await page.screenshot(path=HERE / "dashboard-overview.png", full_page=True)
        await page.goto(f"{base}/admin/vendors/acme-learning#tab-fields")
        await page.get_by_role("tab", name="Returned fields").click()
        await page.set_viewport_size({"width": 1280, "height": 1000})
        await page.wait_for_timeout(300)
        await page.screenshot(path=HERE / "dashboard-vendor.png")
        await capture_demo(await browser.new_page(viewport={"width": 1100, "height": 760}))
        await browser.close()


async def capture_demo(page: Page, vendor: str = "http://localhost:8001") -> None:
    """A member's first sign-in through the demo vendor, in a browser of its own."""
    await page.goto(f"{vendor}/")
    await page.screenshot(path=HERE / "demo-vendor-home.png")
    await page.get_by_role("link", name="Board governance essentials").click()
    await page.get_by_role("link", name="Sign in with Example Association").click()
    await page.get_by_label("Username or email").fill("ada")
    await page.screenshot(path=HERE / "portal-sign-in.png")
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(f"{vendor}/catalogue/board-governance")
    await page.set_viewport_size({"width": 1100, "height": 900})
    await page.screenshot(path=HERE / "demo-vendor-signed-in.png")


def main() -> None:
    settings = load_settings(env="development")
    db.run_in_session(settings, seed)
    asyncio.run(capture(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8040"))


if __name__ == "__main__":
    main()

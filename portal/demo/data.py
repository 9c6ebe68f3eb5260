"""Demo data for `portal demo`: fixed, documented sign-ins. Development mode only."""

from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import members, staff, vendor_secrets, vendors
from portal.crypto import digest

DEMO_PASSWORD = "demo-password"  # noqa: S105 - published in the README, development only
DEMO_VENDOR_URL = "http://localhost:8001"
DEMO_MEMBERS = (
    {"imis_id": "101", "username": "ada", "email": "ada@example.org", "first_name": "Ada",
     "last_name": "Lovelace", "member_type": "REG", "company": "Analytical Engines Ltd",
     "title": "Analyst", "join_date": date(2015, 3, 1), "paid_through": date(2030, 12, 31)},
    {"imis_id": "102", "username": "grace", "email": "grace@example.org", "first_name": "Grace",
     "last_name": "Hopper", "member_type": "STU", "join_date": date(2022, 9, 1),
     "paid_through": date(2030, 6, 30)},
    {"imis_id": "103", "username": "alan", "email": "alan@example.org", "first_name": "Alan",
     "last_name": "Turing", "member_type": "REG", "member_status": "I",
     "join_date": date(2010, 1, 1), "paid_through": date(2024, 12, 31)},
)  # fmt: skip
DEMO_STAFF = (("admin@example.org", "admin"), ("viewer@example.org", "viewer"))


async def ensure(db: AsyncSession) -> None:
    """Create whatever demo data is missing; running it again changes nothing."""
    for values in DEMO_MEMBERS:
        if await members.select_member_by_login(db, str(values["username"])) is None:
            await members.add_member(db, members.parse_member(dict(values)), DEMO_PASSWORD)
    for email, role in DEMO_STAFF:
        if await staff.select_staff_by_email(db, email) is None:
            await staff.add_staff(db, email, role, DEMO_PASSWORD)
    await ensure_vendor(db, "acme-learning", "Acme Learning", DEMO_VENDOR_URL)
    await ensure_vendor(db, "careerhub", "CareerHub Jobs", "http://localhost:8002")


async def ensure_vendor(db: AsyncSession, key: str, name: str, site: str) -> None:
    if await vendors.select_vendor_by_key(db, key) is not None:
        return
    new = vendors.NewVendor(key, name, f"{site}/sso/token", ["localhost"], f"{site}/")
    vendor, _ = await vendors.add_vendor(db, new, development=True)
    # The demo vendor needs a secret it can know in advance: replace the random one.
    for row in await vendor_secrets.select_active(db, vendor):
        row.secret_hash = digest(demo_secret(key))
        db.add(row)


def demo_secret(vendor_key: str) -> str:
    return f"demo-vendor-secret-{vendor_key}"


def describe(portal_url: str) -> str:
    logins = ", ".join(f"{m['username']}" for m in DEMO_MEMBERS)
    staff_logins = ", ".join(email for email, _ in DEMO_STAFF)
    return (
        f"portal (development): {portal_url}/\n"
        f"  members: {logins} — password {DEMO_PASSWORD!r}\n"
        f"  staff:   {staff_logins} — password {DEMO_PASSWORD!r}, at {portal_url}/admin/\n"
        f"  vendor secrets: demo-vendor-secret-<vendor key>"
    )

"""What a browser and a vendor do, over the ASGI test client: the steps the flow tests repeat."""

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from typing import Any

from quart import Response as TestHTTPResponseProtocol
from quart.typing import TestClientProtocol
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import db, members, vendors

PASSWORD = "correct horse battery"
ACME_TOKEN_URL = "https://acme-learning.com/sso/token"


@dataclass(frozen=True)
class VendorLogin:
    key: str
    secret: str

    def basic(self, secret: str | None = None) -> dict[str, str]:
        pair = f"{self.key}:{secret if secret is not None else self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


async def add_vendor(
    database_url: str, key: str = "acme", name: str = "Acme Learning", **changes: Any
) -> VendorLogin:
    domain = changes.pop("domain", "acme-learning.com")
    new = vendors.NewVendor(
        key=key,
        name=name,
        token_url=changes.pop("token_url", f"https://{domain}/sso/token"),
        domains=[domain],
        signout_url=changes.pop("signout_url", f"https://{domain}/goodbye"),
        **changes,
    )
    async with unit_of_work(database_url) as session:
        _, secret = await vendors.add_vendor(session, new, development=True)
    return VendorLogin(key, secret)


async def add_member(database_url: str, **values: Any) -> None:
    data = {
        "imis_id": "101", "username": "ada", "email": "ada@example.org", "first_name": "Ada",
        "last_name": "Lovelace", "member_type": "REG", "paid_through": date(2030, 12, 31),
        **values,
    }  # fmt: skip
    async with unit_of_work(database_url) as session:
        await members.add_member(session, members.parse_member(data), PASSWORD)


@asynccontextmanager
async def unit_of_work(database_url: str) -> AsyncIterator[AsyncSession]:
    """A committed transaction on the test database, outside any request."""
    engine = db.create_engine(database_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            yield session
    finally:
        await engine.dispose()


class Inputs(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.forms: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden":
            self.hidden[values["name"] or ""] = values.get("value") or ""
        elif tag == "form":
            self.forms.append(values)
        elif tag == "script":
            self.scripts.append(values)


async def page(response: TestHTTPResponseProtocol) -> Inputs:
    return Inputs(await response.get_data(as_text=True))


async def sign_in(
    client: TestClientProtocol,
    login: str = "ada",
    password: str = PASSWORD,
    address: str = "203.0.113.7",
    **sso: str,
) -> TestHTTPResponseProtocol:
    """Open the sign-in page (as a browser would, for its CSRF token) and submit it."""
    form_page = await client.get("/sign-in", query_string=sso)
    csrf = (await page(form_page)).hidden["csrf_token"]
    form = {"csrf_token": csrf, "username": login, "password": password, **sso}
    return await client.post("/sign-in", form=form, scope_base={"client": (address, 40000)})


async def token_for(client: TestClientProtocol, **sso: str) -> str:
    """The token from the token-post page of a signed-in browser."""
    response = await client.get("/sso/signin", query_string=sso)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return (await page(response)).hidden["token"]


async def redeem(
    client: TestClientProtocol, vendor: VendorLogin, token: str, secret: str | None = None
) -> TestHTTPResponseProtocol:
    return await client.get(
        "/api/sso/user", query_string={"token": token}, headers=vendor.basic(secret)
    )

"""A staff member's browser over the ASGI test client: signs in, keeps the CSRF token."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pyotp
from quart import Quart
from quart import Response as TestHTTPResponseProtocol
from quart.typing import TestClientProtocol

from portal import staff
from portal.auth import mfa
from tests.flows import Inputs, unit_of_work

STAFF_PASSWORD = "staff password 1"
Form = Mapping[str, str] | Sequence[tuple[str, str]]


async def add_staff(database_url: str, email: str, role: str) -> int:
    async with unit_of_work(database_url) as session:
        account = await staff.add_staff(session, email, role, STAFF_PASSWORD)
        assert account.id is not None
        return account.id


async def enrol_staff(database_url: str, email: str, now: datetime) -> tuple[str, list[str]]:
    """Two-factor sign-in turned on for this staff account, as its enrolment page does it:
    returns the secret and the recovery codes."""
    async with unit_of_work(database_url) as session:
        account = await staff.select_staff_by_email(session, email)
        assert account is not None
        enrolment = await mfa.begin_enrolment(session, account, issuer="Example Association")
        assert enrolment is not None
        code = pyotp.TOTP(enrolment.secret).at(now)
        codes = await mfa.confirm_enrolment(session, account, code, now=now)
        assert codes is not None
        return enrolment.secret, codes


class Browser:
    def __init__(self, app: Quart) -> None:
        self.client: TestClientProtocol = app.test_client()
        self.csrf = ""
        self.landing = ""  # the page a sign-in step led to, when a test keeps it

    async def open_sign_in(self) -> TestHTTPResponseProtocol:
        response = await self.client.get("/admin/sign-in")
        self.csrf = Inputs(await response.get_data(as_text=True)).hidden.get("csrf_token", "")
        return response

    async def sign_in(self, email: str, password: str = STAFF_PASSWORD) -> TestHTTPResponseProtocol:
        """Sign in and open the page it leads to, as a browser does: the CSRF token is a new one
        after a sign-in."""
        await self.open_sign_in()
        response = await self.post("/admin/sign-in", {"email": email, "password": password})
        if response.status_code == 303:
            landing = await self.client.get(response.headers["Location"], follow_redirects=True)
            self.csrf = Inputs(await landing.get_data(as_text=True)).hidden["csrf_token"]
        return response

    async def get(self, path: str, htmx: bool = False, **query: str) -> TestHTTPResponseProtocol:
        headers = {"HX-Request": "true"} if htmx else {}
        return await self.client.get(path, headers=headers, query_string=query or None)

    async def post(
        self, path: str, form: Form | None = None, htmx: bool = False, csrf: bool = True, **kw: Any
    ) -> TestHTTPResponseProtocol:
        pairs = list(form.items()) if isinstance(form, Mapping) else list(form or [])
        if csrf:
            pairs.append(("csrf_token", self.csrf))
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if htmx:
            headers["HX-Request"] = "true"
        return await self.client.post(path, data=urlencode(pairs), headers=headers, **kw)


async def text(response: TestHTTPResponseProtocol) -> str:
    return await response.get_data(as_text=True)


def cookie(client: TestClientProtocol, name: str) -> str:
    assert client.cookie_jar is not None
    return next(c.value or "" for c in client.cookie_jar if c.name == name)

"""The signed-out page tells the member truthfully which sites were signed out with the portal
session (issue 16), and frames the front-channel logout pages, within its CSP. A site is "being
signed out" only where this portal sends back-channel notices: not without an issuer (issue 21,
item 19)."""

import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from quart import Quart
from sqlalchemy import update
from sqlmodel import select

from portal.auth.models import AuthSession
from portal.outbox.models import OutboxItem
from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import add_member, add_vendor, csrf_of, sign_in, token_for, unit_of_work

ISSUER = "https://sso.example.org"


@pytest.fixture
async def sending(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    """The portal with an issuer: it sends back-channel notices (the test app has none)."""
    async with running_app(settings, clock, issuer=ISSUER) as app:
        yield app


async def three_kinds_of_vendor(database_url: str) -> None:
    await add_member(database_url)
    await add_vendor(
        database_url,
        "told",
        "Told Learning",
        domain="told.example",
        backchannel_logout_url="https://told.example/sso/logout",
    )
    await add_vendor(
        database_url,
        "framed",
        "Framed Jobs",
        domain="framed.example",
        frontchannel_logout_url="https://www.framed.example/logout?from=portal",
    )
    await add_vendor(database_url, "silent", "Silent Events", domain="silent.example")


async def sign_out_after_visiting(app: Quart, vendors: tuple[str, ...]) -> str:
    client = app.test_client()
    await sign_in(client)
    for key in vendors:
        await token_for(client, vendor=key)
    out = await client.post("/sign-out", form={"csrf_token": csrf_of(await text(client, "/"))})
    assert out.headers["Location"] == "/signed-out"
    page = await client.get("/signed-out")
    html = await page.get_data(as_text=True)
    return html + "\n" + page.headers["Content-Security-Policy"]


async def text(client: object, path: str) -> str:
    response = await client.get(path)  # type: ignore[attr-defined]
    return str(await response.get_data(as_text=True))


def frame_src(page: str) -> str:
    found = re.search(r"frame-src ([^;\n]*)", page)
    assert found, "no frame-src"
    return found.group(1)


async def test_the_page_names_the_sites_signed_out_and_those_that_were_not(
    sending: Quart, database_url: str
) -> None:
    await three_kinds_of_vendor(database_url)
    page = await sign_out_after_visiting(sending, ("told", "framed", "silent"))
    assert "You are being signed out of Told Learning too." in page
    assert "This page is signing you out of Framed Jobs" in page
    assert "You may still be signed in at Silent Events. Close the browser, or sign out there." in (
        page
    )
    async with unit_of_work(database_url) as session:
        sid = (await session.exec(select(AuthSession))).one().sid
    (src,) = re.findall(r'<iframe src="([^"]+)"', page)
    parts = urlsplit(src.replace("&amp;", "&"))
    assert (parts.netloc, parts.path) == ("www.framed.example", "/logout")
    assert parse_qs(parts.query) == {"from": ["portal"], "iss": [ISSUER], "sid": [sid]}
    # Frames of exactly that vendor's origin, nothing else.
    assert frame_src(page) == "https://www.framed.example"


async def test_without_an_issuer_no_site_is_said_to_be_signed_out_by_notice(
    app: Quart, database_url: str
) -> None:
    """Development without PORTAL_ISSUER or PORTAL_PUBLIC_URL sends no back-channel notice:
    the site that would get one is one where the member may still be signed in. A sign-out page
    in a frame still works (its issuer is the address the page was asked at)."""
    await three_kinds_of_vendor(database_url)
    page = await sign_out_after_visiting(app, ("told", "framed", "silent"))
    assert "being signed out" not in page
    assert "You may still be signed in at Silent Events, Told Learning." in page
    assert "This page is signing you out of Framed Jobs" in page
    assert frame_src(page) == "https://www.framed.example"


async def test_a_failed_notice_is_owned_up_to(sending: Quart, database_url: str) -> None:
    await three_kinds_of_vendor(database_url)
    client = sending.test_client()
    await sign_in(client)
    await token_for(client, vendor="told")
    await client.post("/sign-out", form={"csrf_token": csrf_of(await text(client, "/"))})
    async with unit_of_work(database_url) as session:
        await session.exec(update(OutboxItem).values(failed_at=OutboxItem.created_at))
    page = await text(client, "/signed-out")
    assert "We could not reach Told Learning to sign you out" in page
    assert "being signed out" not in page


async def test_without_a_session_ended_here_the_page_promises_nothing(
    app: Quart, database_url: str
) -> None:
    await three_kinds_of_vendor(database_url)
    page = await app.test_client().get("/signed-out")
    html = await page.get_data(as_text=True)
    assert "keeps you signed in until you sign out there" in html
    assert "<iframe" not in html
    assert frame_src(page.headers["Content-Security-Policy"]) == "'none'"


async def test_a_site_never_visited_is_not_named(app: Quart, database_url: str) -> None:
    await three_kinds_of_vendor(database_url)
    page = await sign_out_after_visiting(app, ("told",))
    assert "Told Learning" in page
    assert "Framed Jobs" not in page and "Silent Events" not in page
    assert "<iframe" not in page and frame_src(page) == "'none'"

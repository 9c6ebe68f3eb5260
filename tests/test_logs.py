"""The log of a real `portal serve` through a whole flow — a member's sign-in through a vendor,
a redemption, a failed one with a wrong secret, a replay, a secret generated on the dashboard, a
scrape of /metrics: one JSON object per line, a line per request with its id, route, status and
duration, and nothing a thief could use — no token, secret, password, cookie or query string."""

import asyncio
import json
from pathlib import Path

import httpx

from tests.admin.browser import STAFF_PASSWORD, add_staff
from tests.flows import PASSWORD, add_member, add_vendor, csrf_of, live_portal, token_value

STATE = "state-marker-that-travels-only-in-query-strings-and-forms"
METRICS_TOKEN = "metrics-token-that-is-long-and-random-7Qz3vK9pLm2xR8wT"
SERVER_KEY = "k" * 48  # live_portal's PORTAL_SECRET_KEY


async def prepare(database_url: str) -> str:
    acme = await add_vendor(database_url)
    await add_member(database_url)
    await add_staff(database_url, "admin@example.org", "admin")
    return acme.secret


def member_signs_in_through_acme(browser: httpx.Client) -> str:
    """The token-post page's token, after a password sign-in that came from Acme's request."""
    sso = {"vendor": "acme", "state": STATE}
    csrf = csrf_of(browser.get("/sign-in", params=sso).text)
    form = {"csrf_token": csrf, "username": "ada", "password": PASSWORD, **sso}
    signed_in = browser.post("/sign-in", data=form)
    assert signed_in.status_code == 303, signed_in.text
    return token_value(browser.get(signed_in.headers["location"]).text)


def staff_generates_a_secret(admin: httpx.Client) -> str:
    csrf = csrf_of(admin.get("/admin/sign-in").text)
    form = {"csrf_token": csrf, "email": "admin@example.org", "password": STAFF_PASSWORD}
    assert admin.post("/admin/sign-in", data=form).status_code == 303
    csrf = csrf_of(admin.get("/admin/vendors/acme").text)
    created = admin.post("/admin/vendors/acme/secrets", data={"csrf_token": csrf})
    assert created.status_code == 201
    return created.text.split('id="new-secret">')[1].split("<")[0]


def test_a_whole_flow_logs_json_lines_and_no_secret(database_url: str, tmp_path: Path) -> None:
    secret = asyncio.run(prepare(database_url))
    settings = {"PORTAL_METRICS_TOKEN": METRICS_TOKEN}
    with (
        live_portal(database_url, tmp_path, **settings) as url,
        httpx.Client(base_url=url) as browser,
        httpx.Client(base_url=url) as vendor,
        httpx.Client(base_url=url) as admin,
    ):
        token = member_signs_in_through_acme(browser)
        wrong = vendor.get("/api/sso/user", params={"token": token}, auth=("acme", "wrong-secret"))
        redeemed = vendor.post("/api/sso/user", data={"token": token}, auth=("acme", secret))
        replayed = vendor.get("/api/sso/user", params={"token": token}, auth=("acme", secret))
        new_secret = staff_generates_a_secret(admin)
        bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        assert vendor.get("/metrics", headers=bearer).status_code == 200
        cookies = [c.value for client in (browser, admin) for c in client.cookies.jar]
    assert [r.status_code for r in (wrong, redeemed, replayed)] == [401, 200, 400]

    log = (tmp_path / "portal.log").read_text()
    events = [json.loads(line) for line in log.splitlines()]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= event.keys() for event in events)
    requests = [event for event in events if event["logger"] == "portal.request"]
    assert {r["route"] for r in requests} >= {"/sign-in", "/sso/signin", "/api/sso/user"}
    assert all(
        {"request_id", "route", "status", "duration_ms"} <= r.keys() and "?" not in r["path"]
        for r in requests
    )
    assert [r["request_id"] for r in requests if r["route"] == "/api/sso/user"] == [
        response.headers["X-Request-ID"] for response in (wrong, redeemed, replayed)
    ]
    never = [token, secret, new_secret, PASSWORD, STAFF_PASSWORD, METRICS_TOKEN, SERVER_KEY]
    leaked = [value for value in [*never, *cookies, STATE, "token="] if value in log]
    assert leaked == [], "found in the log"

"""What operators get from every request: its id (X-Request-ID, also on its audit events) and
/metrics, which is off without PORTAL_METRICS_TOKEN and refuses anyone without it."""

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families
from quart import Quart
from sqlalchemy import text

from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import PASSWORD, VendorLogin, redeem, sign_in, token_for, unit_of_work

METRICS_TOKEN = "metrics-token-that-is-long-and-random-7Qz3vK9pLm2xR8wT"
GENERATED = re.compile(r"[0-9a-f]{32}")
pytestmark = pytest.mark.usefixtures("ada")


async def test_every_answer_carries_a_request_id_of_its_own(app: Quart) -> None:
    client = app.test_client()
    first = (await client.get("/healthz")).headers["X-Request-ID"]
    second = (await client.get("/no-such-page")).headers["X-Request-ID"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second


async def test_a_clients_request_id_is_not_believed_without_a_proxy(app: Quart) -> None:
    """Without a proxy of ours in front, the header is the client's own choice: it must not
    choose the id that ties its requests to audit events (someone else's id, say)."""
    response = await app.test_client().get("/healthz", headers={"X-Request-ID": "chosen-1"})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


@pytest.mark.parametrize(
    ("given", "kept"),
    [("4f1c9a2e-7b1d-4a8e-9c3f-2d5e6f7a8b9c", True), ("a b", False), ("x" * 129, False)],
)
async def test_our_proxys_request_id_is_kept_when_it_looks_like_one(
    settings: Settings, clock: FakeClock, given: str, kept: bool
) -> None:
    async with running_app(settings, clock, proxy_hops=1) as app:
        response = await app.test_client().get("/healthz", headers={"X-Request-ID": given})
    assert (response.headers["X-Request-ID"] == given) is kept
    if not kept:
        assert GENERATED.fullmatch(response.headers["X-Request-ID"])


async def test_an_audit_event_carries_the_id_of_the_request_that_caused_it(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    token = await token_for(client, vendor="acme")
    response = await redeem(client, acme, token)
    async with unit_of_work(database_url) as session:
        [stored] = await session.execute(
            text("SELECT request_id FROM audit_event WHERE event = 'token.redeemed'")
        )
    assert stored[0] == response.headers["X-Request-ID"]


async def test_metrics_are_off_without_a_token(app: Quart) -> None:
    assert (await app.test_client().get("/metrics")).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x", "Bearer"],
)
async def test_metrics_refuse_anyone_without_the_token(
    settings: Settings, clock: FakeClock, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with running_app(settings, clock, metrics_token=METRICS_TOKEN) as app:
        response = await app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "portal_" not in await response.get_data(as_text=True)


async def scrape(app: Quart) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    response = await app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(await response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def moved(before: dict, after: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_count_sign_ins_tokens_and_requests(
    settings: Settings, clock: FakeClock, acme: VendorLogin
) -> None:
    async with running_app(settings, clock, metrics_token=METRICS_TOKEN) as app:
        before = await scrape(app)
        client = app.test_client()
        assert (await sign_in(client, password="wrong")).status_code == 401
        await sign_in(client, password=PASSWORD)
        token = await token_for(client, vendor="acme")
        assert (await redeem(client, acme, token)).status_code == 200
        assert (await redeem(client, acme, token)).status_code == 400  # a replay
        after = await scrape(app)
    count = "portal_sign_ins_total"
    assert moved(before, after, count, kind="member", outcome="failure", reason="wrong_password")
    assert moved(before, after, count, kind="member", outcome="success", reason="") == 1
    assert moved(before, after, "portal_tokens_issued_total", vendor="acme", silent="true") == 1
    assert moved(before, after, "portal_tokens_redeemed_total", vendor="acme") == 1
    assert moved(before, after, "portal_tokens_rejected_total", vendor="acme", reason="replay") == 1
    requests = "portal_http_requests_total"
    assert moved(before, after, requests, method="GET", route="/sso/signin", status="200") == 1
    assert moved(before, after, requests, method="GET", route="/api/sso/user", status="400") == 1
    assert after[("portal_login_names_refusing_sign_ins", (("state", "locked"),))] == 0
    assert moved(before, after, "portal_db_connections_in_use") == 0  # every one given back

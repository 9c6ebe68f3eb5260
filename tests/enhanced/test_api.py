"""The user service, protocol.md §4: every row of its error table, and the member object of §5."""

import base64
import json
from datetime import date

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlalchemy import text

from portal import vendor_rules, vendor_secrets, vendors
from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import (
    VendorLogin,
    add_member,
    add_vendor,
    open_sids,
    redeem,
    sign_in,
    token_for,
    unit_of_work,
)

SSO = {"vendor": "acme"}
pytestmark = pytest.mark.usefixtures("ada")


async def signed_in_token(app: Quart) -> tuple[Client, str]:
    client = app.test_client()
    await sign_in(client)
    return client, await token_for(client, **SSO)


async def events(database_url: str) -> list[tuple[str, str, str | None]]:
    async with unit_of_work(database_url) as session:
        rows = await session.execute(
            text(
                "SELECT event, outcome, details->>'reason' FROM audit_event "
                "WHERE event NOT IN ('sign_in', 'token.issued') ORDER BY id"
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_200_with_basic_auth_and_get(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    client, token = await signed_in_token(app)
    response = await redeem(client, acme, token)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert await events(database_url) == [("token.redeemed", "success", None)]


async def test_200_with_post_form(app: Quart, acme: VendorLogin) -> None:
    client, token = await signed_in_token(app)
    response = await client.post("/api/sso/user", form={"token": token}, headers=acme.basic())
    assert response.status_code == 200
    assert (await response.get_json())["ImisId"] == "101"


@pytest.mark.parametrize(
    ("query", "form", "says"),
    [
        ({}, {}, "missing"),
        ({"token": "short"}, {}, "malformed"),
        ({"token": "x" * 43 + "!"}, {}, "malformed"),
        ({"token": "a" * 43}, {"token": "a" * 43}, "more than once"),
    ],
)
async def test_400_invalid_request(
    app: Quart,
    acme: VendorLogin,
    database_url: str,
    query: dict[str, str],
    form: dict[str, str],
    says: str,
) -> None:
    client = app.test_client()
    response = await client.post(
        "/api/sso/user", query_string=query, form=form, headers=acme.basic()
    )
    body = await response.get_json()
    assert response.status_code == 400
    assert body["error"] == "invalid_request"
    assert says in body["error_description"]
    assert response.headers["Cache-Control"] == "no-store"
    assert await events(database_url) == [("token.rejected", "failure", "invalid_request")]


async def test_400_when_the_token_is_repeated_in_the_query(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    client, token = await signed_in_token(app)
    response = await client.get(f"/api/sso/user?token={token}&token={token}", headers=acme.basic())
    assert (response.status_code, (await response.get_json())["error"]) == (400, "invalid_request")
    assert await events(database_url) == [("token.rejected", "failure", "invalid_request")]
    assert (await redeem(client, acme, token)).status_code == 200  # nothing was consumed


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no_credentials"),
        ({"Authorization": "Bearer abc"}, "no_credentials"),
        ({"Authorization": "Basic !!!notbase64"}, "no_credentials"),
        (basic("acme", "wrong-secret"), "wrong_secret"),
        (basic("nobody", "whatever"), "unknown_vendor"),
    ],
)
async def test_401_invalid_client(
    app: Quart, acme: VendorLogin, database_url: str, headers: dict[str, str], reason: str | None
) -> None:
    client, token = await signed_in_token(app)
    response = await client.get("/api/sso/user", query_string={"token": token}, headers=headers)
    assert response.status_code == 401
    assert (await response.get_json())["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="')
    assert response.headers["Cache-Control"] == "no-store"
    assert await events(database_url) == [("vendor.auth", "failure", reason)]
    assert (await redeem(client, acme, token)).status_code == 200  # the token survived


async def test_403_for_a_disabled_vendor_and_its_tokens_stop_redeeming(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    client, token = await signed_in_token(app)
    async with unit_of_work(database_url) as session:
        await session.execute(text("UPDATE vendor SET enabled = false"))
    response = await redeem(client, acme, token)
    assert response.status_code == 403
    assert (await response.get_json())["error"] == "vendor_disabled"
    assert await events(database_url) == [("vendor.auth", "failure", "disabled")]


async def test_400_invalid_token_for_an_unknown_token(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    response = await redeem(app.test_client(), acme, "A" * 43)
    assert response.status_code == 400
    assert await response.get_json() == {
        "error": "invalid_token",
        "error_description": "The token is unknown, expired or already used.",
    }
    assert await events(database_url) == [("token.rejected", "failure", "unknown")]


async def test_400_invalid_token_once_expired(
    app: Quart, acme: VendorLogin, clock: FakeClock, database_url: str
) -> None:
    client, token = await signed_in_token(app)
    clock.advance(seconds=60)
    response = await redeem(client, acme, token)
    assert (response.status_code, (await response.get_json())["error"]) == (400, "invalid_token")
    assert await events(database_url) == [("token.rejected", "failure", "expired")]


async def test_a_token_is_good_until_its_last_second(
    app: Quart, acme: VendorLogin, clock: FakeClock
) -> None:
    client, token = await signed_in_token(app)
    clock.advance(seconds=59.9)
    assert (await redeem(client, acme, token)).status_code == 200


@pytest.mark.parametrize("ttl", [10, 600])
async def test_the_lifetime_is_a_setting(
    settings: Settings, acme: VendorLogin, clock: FakeClock, ttl: int
) -> None:
    async with running_app(settings, clock, token_ttl_seconds=ttl) as app:
        client, token = await signed_in_token(app)
        client2, token2 = await signed_in_token(app)
        clock.advance(seconds=ttl - 1)
        assert (await redeem(client, acme, token)).status_code == 200
        clock.advance(seconds=1)
        assert (await redeem(client2, acme, token2)).status_code == 400


async def test_a_replay_fails_is_audited_and_ends_the_portal_session(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    client, token = await signed_in_token(app)
    assert (await redeem(client, acme, token)).status_code == 200
    replay = await redeem(client, acme, token)
    assert (replay.status_code, (await replay.get_json())["error"]) == (400, "invalid_token")
    assert ("token.replay", "failure", "replay") in await events(database_url)
    after = await client.get("/sso/signin", query_string=SSO)
    assert after.status_code == 303  # the session the token came from is over


async def test_a_token_issued_to_another_vendor_is_invalid(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    jobs = await add_vendor(database_url, key="jobs", domain="jobs.example")
    client, token = await signed_in_token(app)
    response = await redeem(client, jobs, token)
    assert (response.status_code, (await response.get_json())["error"]) == (400, "invalid_token")
    assert await events(database_url) == [("token.rejected", "failure", "other_vendor")]


async def test_429_when_a_vendor_exceeds_its_rate(
    settings: Settings, acme: VendorLogin, clock: FakeClock, database_url: str
) -> None:
    async with running_app(settings, clock, api_rate_per_minute=3) as app:
        client = app.test_client()
        statuses = [(await redeem(client, acme, "A" * 43)).status_code for _ in range(4)]
        assert statuses == [400, 400, 400, 429]
        limited = await redeem(client, acme, "A" * 43)
        assert (await limited.get_json())["error"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert limited.headers["Cache-Control"] == "no-store"
        clock.advance(minutes=1)
        assert (await redeem(client, acme, "A" * 43)).status_code == 400
    assert ("api.rate_limited", "failure", None) in await events(database_url)


async def test_both_active_secrets_work_during_rotation(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    async with unit_of_work(database_url) as session:
        vendor = await vendors.get_vendor(session, "acme")
        new_secret = await vendor_secrets.create(session, vendor)
    client = app.test_client()
    await sign_in(client)
    for secret in (acme.secret, new_secret):
        token = await token_for(client, **SSO)
        assert (await redeem(client, acme, token, secret=secret)).status_code == 200
    async with unit_of_work(database_url) as session:
        vendor = await vendors.get_vendor(session, "acme")
        oldest = (await vendor_secrets.select_active(session, vendor))[0]
        await vendor_secrets.revoke(session, vendor, oldest.id)
    token = await token_for(client, **SSO)
    assert (await redeem(client, acme, token, secret=acme.secret)).status_code == 401
    assert (await redeem(client, acme, token, secret=new_secret)).status_code == 200


async def test_the_member_object_follows_the_vendors_selection(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    async with unit_of_work(database_url) as session:
        vendor = await vendors.get_vendor(session, "acme")
        choices = vendor_rules.parse_field_spec(
            "MemberType,Email=email_address,IsMember,Company,PaidThrough,FullName"
        )
        await vendors.replace_fields(session, vendor, choices)
    client, token = await signed_in_token(app)
    response = await redeem(client, acme, token)
    raw = await response.get_data(as_text=True)
    assert list(json.loads(raw)) == [
        "MemberType",
        "email_address",
        "IsMember",
        "Company",
        "PaidThrough",
        "FullName",
        "sid",
    ]
    assert json.loads(raw) == {
        "MemberType": "REG",
        "email_address": "ada@example.org",
        "IsMember": True,
        "Company": None,
        "PaidThrough": "2030-12-31",
        "FullName": "Ada Lovelace",
        "sid": (await open_sids(database_url))[0],
    }


async def test_each_portal_session_gives_its_own_sid(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    """The member signed in from two browsers: each redemption names the portal session its
    token came from (the sid that session's logout tokens carry), not only the member."""
    answers = []
    for _ in range(2):
        client, token = await signed_in_token(app)
        answers.append(await (await redeem(client, acme, token)).get_json())
    sids = [answer["sid"] for answer in answers]
    assert sids == await open_sids(database_url) and sids[0] != sids[1]


async def test_is_member_is_false_for_a_lapsed_member(
    app: Quart, acme: VendorLogin, database_url: str, clock: FakeClock
) -> None:
    await add_member(
        database_url,
        imis_id="103",
        username="alan",
        email="alan@example.org",
        paid_through=date(2026, 11, 26),
    )
    async with unit_of_work(database_url) as session:
        vendor = await vendors.get_vendor(session, "acme")
        await vendors.replace_fields(
            session, vendor, vendor_rules.parse_field_spec("ImisId,IsMember")
        )
    client = app.test_client()
    await sign_in(client, login="alan")
    token = await token_for(client, **SSO)
    assert await (await redeem(client, acme, token)).get_json() == {
        "ImisId": "103",
        "IsMember": False,
        "sid": (await open_sids(database_url))[0],
    }


async def test_a_member_disabled_after_issue_gets_no_answer(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    client, token = await signed_in_token(app)
    async with unit_of_work(database_url) as session:
        await session.execute(text("UPDATE member SET enabled = false"))
    response = await redeem(client, acme, token)
    assert (response.status_code, (await response.get_json())["error"]) == (400, "invalid_token")
    assert await events(database_url) == [("token.rejected", "failure", "member_disabled")]


async def test_no_raw_token_or_secret_lands_in_the_audit_log(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    client, token = await signed_in_token(app)
    await redeem(client, acme, token)
    await redeem(client, acme, token)
    await redeem(client, acme, token, secret="wrong")
    async with unit_of_work(database_url) as session:
        dump = str(list(await session.execute(text("SELECT * FROM audit_event"))))
    assert token not in dump
    assert acme.secret not in dump


@pytest.mark.parametrize("user", ["ac\x00me", "ACME", "x" * 300, "acme\n", "é"])
async def test_a_malformed_vendor_key_is_an_unknown_vendor(
    app: Quart, acme: VendorLogin, database_url: str, user: str
) -> None:
    response = await app.test_client().get(
        "/api/sso/user", query_string={"token": "A" * 43}, headers=basic(user, acme.secret)
    )
    assert response.status_code == 401
    assert (await response.get_json())["error"] == "invalid_client"
    assert await events(database_url) == [("vendor.auth", "failure", "unknown_vendor")]

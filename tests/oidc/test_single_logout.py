"""Back-channel logout for an OpenID Connect vendor (issue 16): discovery advertises it, a code
issued to the vendor makes the session reach it, and its logout token carries the `sub` and
`sid` of the ID token it received (pairwise here)."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from quart import Quart

from portal import logout_notices, vendors
from portal.outbox import queue
from portal.settings import Settings
from tests.conftest import FakeClock
from tests.flows import csrf_of, unit_of_work
from tests.logout_receiver import Receiver, receiving
from tests.oidc.oidc_flows import Pkce, add_oidc_vendor, token_form
from tests.oidc.test_flow import ISSUER, signed_in_code, tokens

pytestmark = pytest.mark.usefixtures("ada")


ADVERTISED = (
    "backchannel_logout_supported",
    "backchannel_logout_session_supported",
    "frontchannel_logout_supported",
    "frontchannel_logout_session_supported",
)


async def test_discovery_advertises_back_and_front_channel_logout_with_sid(app: Quart) -> None:
    metadata = await (await app.test_client().get("/.well-known/openid-configuration")).get_json()
    assert {key: metadata[key] for key in ADVERTISED} == dict.fromkeys(ADVERTISED, True)


async def test_an_oidc_vendor_gets_a_logout_token_with_its_id_tokens_sub_and_sid(
    app: Quart, database_url: str, clock: FakeClock, settings: Settings
) -> None:
    receiver = Receiver(ISSUER, now=lambda: clock().timestamp())
    with receiving(receiver):
        login = await add_oidc_vendor(database_url, pairwise_subject=True)
        async with unit_of_work(database_url) as session:
            vendor = await vendors.get_vendor(session, "learn")
            await vendors.add_domain(session, vendor, "127.0.0.1", development=True)
            urls = {"backchannel_logout_url": receiver.url("learn")}
            await vendors.set_logout_urls(session, vendor, urls, development=True, now=clock())
        client = app.test_client()
        pkce = Pkce.new()
        code = await signed_in_code(client, pkce)
        issued = await tokens(client, login, token_form(code, pkce))
        keys: dict[str, Any] = await (await client.get("/oidc/jwks")).get_json()
        id_token = jwt.decode(issued["id_token"], KeySet.import_key_set(keys)).claims  # type: ignore[arg-type]
        receiver.keys.update(keys)

        home = await (await client.get("/")).get_data(as_text=True)
        await client.post("/sign-out", form={"csrf_token": csrf_of(home)})
        policy = logout_notices.Policy(
            ISSUER, 2.0, timedelta(seconds=30), timedelta(minutes=5), timedelta(seconds=5), settings
        )
        async with httpx.AsyncClient() as http:
            kind = logout_notices.kind(policy, http)
            sent = await queue.deliver_due(queue.units(app.extensions["db_sessions"]), clock, kind)
    assert (sent, receiver.problems) == (1, [])
    (claims,) = receiver.acted["learn"]
    assert (claims["sub"], claims["sid"]) == (id_token["sub"], id_token["sid"])
    assert claims["sub"] != "101"  # pairwise: not the iMIS ID itself

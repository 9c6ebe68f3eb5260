"""A slow iMIS does not starve signed-in members: through a real server (`portal serve`), a
member who is signed in moves on to a vendor while a crowd of sign-ins waits on iMIS, and every
one of those sign-ins gets an answer (a refusal or "temporarily unavailable"), never a 500."""

import asyncio
from pathlib import Path

import httpx

from tests.fake_imis import FakeImis
from tests.flows import VendorLogin, csrf_of, live_portal
from tests.imis_samples import ADA_PASSWORD, ada

CROWD = 60  # three times what one worker lets through to iMIS at once


async def test_signed_in_members_keep_moving_while_imis_is_slow(
    fake_imis: FakeImis, database_url: str, tmp_path: Path, acme: VendorLogin
) -> None:
    fake_imis.add(ada())
    env = {"PORTAL_DIRECTORY": "imis", "PORTAL_IMIS_URL": fake_imis.url}
    with live_portal(database_url, tmp_path, **env) as url:
        async with (
            httpx.AsyncClient(base_url=url, timeout=60) as member,
            httpx.AsyncClient(
                base_url=url, timeout=60, limits=httpx.Limits(max_connections=CROWD)
            ) as crowd,
        ):
            form = {"csrf_token": csrf_of((await member.get("/sign-in")).text)}
            signed_in = await member.post(
                "/sign-in", data={**form, "username": "ada.lovelace", "password": ADA_PASSWORD}
            )
            assert signed_in.status_code == 303
            fake_imis.slow_seconds = 3
            fake_imis.fail("slow")
            crowd_form = {"csrf_token": csrf_of((await crowd.get("/sign-in")).text)}
            sign_ins = [
                asyncio.ensure_future(
                    crowd.post(
                        "/sign-in", data={**crowd_form, "username": f"u{n}", "password": "x"}
                    )
                )
                for n in range(CROWD)
            ]
            await asyncio.sleep(0.5)  # the crowd is waiting on iMIS now
            reissue = await member.get("/sso/signin", params={"vendor": "acme"})
            assert reissue.status_code == 200 and 'name="token"' in reissue.text
            assert not any(task.done() for task in sign_ins)  # answered while they still wait
            answers = await asyncio.gather(*sign_ins)
    assert {answer.status_code for answer in answers} <= {401, 503}

"""`portal keys list, rotate --now, revoke, reseal` in-process against the test database, as an
operator runs them: each change audited, bad input one line and a non-zero exit."""

import asyncio
import json
from datetime import datetime, timedelta

import pytest

from portal import pairwise
from portal.settings import Settings
from tests.cli_runner import Runner
from tests.flows import unit_of_work

OLD = "old-secret-key-that-is-long-and-random-enough-Tq8Wz3Kd5Lm2"
NEW = "new-secret-key-that-is-long-and-random-enough-Hv6Px9Rb4Jn7"


def with_secrets(portal: Runner, secret: str, fallbacks: str = "") -> Runner:
    portal.monkeypatch.setenv("PORTAL_SECRET_KEY", secret)
    portal.monkeypatch.setenv("PORTAL_SECRET_KEY_FALLBACKS", fallbacks)
    return portal


def listed(portal: Runner) -> dict[str, dict[str, str]]:
    code, out, err = portal("keys", "list", "--json")
    assert (code, err) == (0, ""), err
    return {key["kid"]: key for key in json.loads(out)["keys"]}


def audited(portal: Runner, event: str) -> list[dict[str, object]]:
    sql = "SELECT coalesce(json_agg(details ORDER BY id), '[]') FROM audit_event"
    sql += f" WHERE event = '{event}'"
    return list(portal.scalar(sql))  # type: ignore[call-overload]


@pytest.fixture
def portal(portal: Runner) -> Runner:
    return with_secrets(portal, OLD)


def test_rotate_at_once_withdraws_every_published_key_and_is_audited(portal: Runner) -> None:
    first = json.loads(portal("keys", "rotate", "--now", "--json")[1])
    assert first["withdrawn"] == []  # none yet: the first keys sign at once
    portal("keys", "rotate")  # new keys published, signing in 15 minutes
    code, out, err = portal("keys", "rotate", "--now")
    assert (code, err) == (0, "")
    assert out.startswith("published ") and "; withdrew " in out
    states = listed(portal)
    assert sorted(key["state"] for key in states.values()) == ["signing"] * 2 + ["withdrawn"] * 4
    assert {kid for kid, key in states.items() if key["state"] == "withdrawn"} >= set(first["kids"])
    last = audited(portal, "keys.rotated")[-1]
    assert last["at_once"] is True and len(last["withdrawn"]) == 4  # type: ignore[arg-type]


def test_list_shows_kid_algorithm_times_and_state_in_words(portal: Runner) -> None:
    code, out, _ = portal("keys", "list")  # no key yet: the headings alone
    assert (code, out.split()) == (0, ["KID", "ALG", "SIGNS", "FROM", "RETIRES", "AT", "STATE"])
    kids = json.loads(portal("keys", "rotate", "--now", "--json")[1])["kids"]
    portal("keys", "rotate")
    code, out, _ = portal("keys", "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 5
    assert sum("published, signing soon" in line for line in lines) == 2
    assert all(any(kid in line and line.endswith(" signing") for line in lines) for kid in kids)
    key = listed(portal)[kids[0]]
    assert set(key) == {"kid", "alg", "signs_from", "retires_at", "state"} and key["alg"] == "RS256"


def test_revoke_withdraws_one_key_and_a_new_one_signs_at_once(portal: Runner) -> None:
    rs256, es256 = json.loads(portal("keys", "rotate", "--now", "--json")[1])["kids"]
    code, out, err = portal("keys", "revoke", rs256, "--json")
    assert (code, err) == (0, "")
    done = json.loads(out)
    assert done["kid"] == rs256 and done["already"] is None and done["replaced_by"]
    states = listed(portal)
    assert states[rs256]["state"] == "withdrawn"
    assert states[done["replaced_by"]]["state"] == "signing"
    assert states[es256]["state"] == "signing"
    assert audited(portal, "keys.revoked") == [
        {"via": "cli", "kids": [rs256], "replaced_by": done["replaced_by"],
         "signs_from": done["signs_from"]}
    ]  # fmt: skip
    assert portal("keys", "revoke", rs256) == (
        0,
        f"{rs256} was already withdrawn: nothing changed\n",
        "",
    )
    assert len(audited(portal, "keys.revoked")) == 1


def test_revoke_of_an_unknown_key_is_one_line(portal: Runner) -> None:
    code, out, err = portal("keys", "revoke", "no-such-kid")
    assert (code, out) == (1, "")
    assert err == "portal: there is no signing key 'no-such-kid' (`portal keys list` shows them)\n"


def store_pairwise_key(portal: Runner) -> bytes:
    async def store() -> bytes:
        settings = Settings(secret_key=OLD, database_url=portal.url)
        async with unit_of_work(portal.url) as session:
            return await pairwise.stored_key(session, settings=settings)

    return asyncio.run(store())


def sealed(portal: Runner) -> object:
    return portal.scalar(
        "SELECT string_agg(sealed_jwk, ',' ORDER BY id) || (SELECT sealed FROM stored_secret) "
        "FROM signing_key"
    )


def test_reseal_moves_every_stored_key_to_the_new_secret_key(portal: Runner) -> None:
    portal("keys", "rotate", "--now")
    store_pairwise_key(portal)
    with_secrets(portal, NEW, fallbacks=OLD)
    code, out, err = portal("keys", "reseal")
    assert (code, err) == (0, "")
    assert out == "resealed 2 signing keys and the pairwise key with PORTAL_SECRET_KEY\n"
    with_secrets(portal, NEW)  # the old key leaves the fallbacks
    assert {key["state"] for key in listed(portal).values()} == {"signing"}
    assert len(audited(portal, "keys.resealed")) == 1


def test_reseal_without_the_old_secret_key_says_what_to_do_and_writes_nothing(
    portal: Runner,
) -> None:
    portal("keys", "rotate", "--now")
    store_pairwise_key(portal)
    before = sealed(portal)
    with_secrets(portal, NEW)
    assert {key["state"] for key in listed(portal).values()} == {"unopenable"}
    code, out, err = portal("keys", "reseal")
    assert (code, out) == (1, "")
    assert err.startswith("portal: the signing keys ") and err.count("\n") == 1
    assert "PORTAL_SECRET_KEY_FALLBACKS" in err and "portal keys rotate --now" in err
    assert sealed(portal) == before and audited(portal, "keys.resealed") == []
    # A new set of keys (the old ones withdrawn) leaves only the pairwise key to recover.
    portal("keys", "rotate", "--now")
    code, _, err = portal("keys", "reseal")
    assert code == 1 and err.startswith("portal: the key of pairwise subjects cannot be opened")


def test_rotate_can_publish_the_new_keys_days_before_they_sign(portal: Runner) -> None:
    portal("keys", "rotate", "--now")
    code, out, err = portal("keys", "rotate", "--signs-in", "7d", "--json")
    assert (code, err) == (0, "")
    new = set(json.loads(out)["kids"])
    states = listed(portal)
    assert {states[kid]["state"] for kid in new} == {"upcoming"}
    signs_from = {states[kid]["signs_from"] for kid in new}
    retires_at = {key["retires_at"] for kid, key in states.items() if kid not in new}
    assert signs_from and retires_at and len(signs_from) == 1  # the old ones sign until then
    gap = datetime.fromisoformat(retires_at.pop()) - datetime.fromisoformat(signs_from.pop())
    assert gap == timedelta(days=2)  # and stay published two days after
    assert audited(portal, "keys.rotated")[-1]["signs_from"] == json.loads(out)["signs_from"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--signs-in", "5m"], "between 15m and 30d"),
        (["--signs-in", "31d"], "between 15m and 30d"),
        (["--signs-in", "a week"], "is not a duration"),
        (["--signs-in", "7d", "--now"], "not allowed with argument"),
    ],
)
def test_a_lead_time_out_of_range_is_one_line(portal: Runner, argv: list[str], says: str) -> None:
    code, out, err = portal("keys", "rotate", *argv)
    assert code == 2 and out == "" and says in err and "Traceback" not in err

"""`portal purge`, `portal audit verify` and `portal audit purge`, in-process against the test
database, on the system clock as an operator would run them."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from portal.models import RateCounter
from tests.audit_tampering import add_events, tamper
from tests.cli_runner import Runner
from tests.test_retention import add as add_rows

TODAY = datetime.now(UTC)


def events(portal: Runner, n: int, at: datetime = TODAY) -> list[int]:
    return asyncio.run(add_events(portal.url, n, at=at))


def test_verify_an_empty_log(portal: Runner) -> None:
    assert portal("audit", "verify") == (0, f"audit log intact: 0 events, head {'0' * 64}\n", "")


def test_verify_seals_new_events_and_prints_the_head(portal: Runner) -> None:
    events(portal, 3)
    code, out, err = portal("audit", "verify", "--json")
    assert (code, err) == (0, "")
    printed = json.loads(out)
    head = portal.scalar("SELECT hash FROM audit_seal WHERE seq = 3")
    assert printed == {
        "ok": True, "events": 3, "head_seq": 3, "head_hash": head, "problem": None
    }  # fmt: skip
    assert portal.scalar("SELECT count(*) FROM audit_verification WHERE ok") == 1


def test_verify_names_the_first_altered_event_and_fails(portal: Runner) -> None:
    ids = events(portal, 4)
    assert portal("audit", "verify")[0] == 0
    asyncio.run(tamper(portal.url, f"UPDATE audit_event SET details = '{{}}' WHERE id >= {ids[1]}"))
    code, out, err = portal("audit", "verify")
    assert (code, out) == (1, "")
    problem = f"event {ids[1]} altered: it differs from its seal"
    assert err == f"portal: audit log NOT intact: {problem}\n"
    code, out, _ = portal("audit", "verify", "--json")
    assert code == 1
    assert json.loads(out)["problem"] == {"kind": "altered", "event_id": ids[1], "message": problem}


def test_verify_reports_a_deleted_event(portal: Runner) -> None:
    ids = events(portal, 3)
    portal("audit", "verify")
    asyncio.run(tamper(portal.url, f"DELETE FROM audit_event WHERE id = {ids[0]}"))
    code, _, err = portal("audit", "verify")
    assert code == 1 and f"event {ids[0]} removed" in err


def test_purge_prints_what_it_deleted(portal: Runner) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    asyncio.run(
        add_rows(
            portal.url,
            RateCounter(bucket="vendor:a", window_start=now - timedelta(minutes=5), hits=3),
            RateCounter(bucket="vendor:a", window_start=now + timedelta(hours=1), hits=1),
        )
    )
    code, out, err = portal("purge", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "sso_token": 0, "oidc_token": 0, "auth_session": 0, "sign_in_throttle": 0,
        "rate_counter": 1, "account_link": 0, "outbox": 0,
    }  # fmt: skip
    tables = (
        "0 sso_token, 0 oidc_token, 0 auth_session, 0 sign_in_throttle, 0 rate_counter, "
        "0 account_link, 0 outbox"
    )
    assert portal("purge")[1] == f"deleted {tables}\n"
    assert portal.scalar("SELECT hits FROM rate_counter") == 1


def test_audit_purge_keeps_the_rest_verifiable(portal: Runner) -> None:
    events(portal, 5, at=TODAY - timedelta(days=500))
    events(portal, 2)
    code, out, err = portal("audit", "purge", "--older-than", "400d", "--json")
    assert (code, err) == (0, "")
    printed = json.loads(out)
    assert (printed["events"], printed["checkpoint_seq"]) == (5, 5)
    assert portal.scalar("SELECT hash FROM audit_checkpoint") == printed["checkpoint_hash"]
    assert portal.scalar("SELECT count(*) FROM audit_event") == 3  # 2 + audit.purged
    code, out, _ = portal("audit", "verify")
    assert code == 0 and out.startswith("audit log intact: 3 events")
    code, out, _ = portal("audit", "purge", "--older-than", "400d")
    assert out.startswith("purged 0 audit events from before ")


@pytest.mark.parametrize(
    ("argv", "code", "reason"),
    [
        (("--older-than", "5x"), 2, "'5x' is not a number of days, e.g. 400d"),
        (("--older-than", "-3d"), 2, "expected one argument"),
        (("--older-than=-3d",), 2, "'-3d' is not a number of days"),
        (("--older-than", "400"), 2, "'400' is not a number of days"),
        (("--older-than", "30d"), 1, "the audit log keeps at least 90 days"),
        ((), 2, "the following arguments are required: --older-than"),
    ],
)
def test_audit_purge_refuses_bad_ages_and_writes_nothing(
    portal: Runner, argv: tuple[str, ...], code: int, reason: str
) -> None:
    events(portal, 3, at=TODAY - timedelta(days=500))
    result, out, err = portal("audit", "purge", *argv)
    assert (result, out) == (code, "")
    assert err.startswith("portal: ") and err.count("\n") == 1 and reason in err
    assert portal.scalar("SELECT count(*) FROM audit_event") == 3
    assert portal.scalar("SELECT count(*) FROM audit_seal") == 0
    assert portal.scalar("SELECT count(*) FROM audit_verification") == 0


def test_audit_needs_a_subcommand(portal: Runner) -> None:
    code, _, err = portal("audit")
    assert code == 2 and err.startswith("portal: ") and err.count("\n") == 1


def test_keys_rotate_publishes_new_keys_then_signs_with_them_and_is_audited(
    portal: Runner,
) -> None:
    portal.monkeypatch.setenv("PORTAL_SECRET_KEY", "a-secret-key-long-and-random-enough-Vb3Ts8Mq")
    code, out, err = portal("keys", "rotate", "--json")
    assert (code, err) == (0, "")
    first = json.loads(out)
    signs_from = datetime.fromisoformat(first["signs_from"])
    assert timedelta(minutes=14) < signs_from - datetime.now(UTC) <= timedelta(minutes=15)
    code, out, _ = portal("keys", "rotate", "--now")
    assert code == 0 and out.startswith("published ")
    assert not set(first["kids"]) & set(out.removeprefix("published ").split(";")[0].split(", "))
    assert portal.scalar("SELECT count(*) FROM signing_key WHERE retires_at IS NULL") == 2
    assert portal.scalar("SELECT count(*) FROM signing_key") == 4
    assert portal.scalar("SELECT count(*) FROM audit_event WHERE event = 'keys.rotated'") == 2


def test_keys_commands_need_the_secret_key_they_seal_with(portal: Runner) -> None:
    for argv in (["rotate"], ["rotate", "--now"]):
        code, out, err = portal("keys", *argv)
        assert (code, out) == (1, ""), argv
        assert err.startswith("portal: PORTAL_SECRET_KEY is needed") and err.count("\n") == 1
    assert portal.scalar("SELECT count(*) FROM signing_key") == 0

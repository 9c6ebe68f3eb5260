"""`portal vendor rotate-secret` and `revoke-secret` (issue 21, item 20): with two secrets
active, a rotation no longer revokes the older one unasked (the vendor may still be using it):
it says which one, when it was last used, and the way out; --revoke-oldest does it, audited as
the dashboard's Secrets tab is."""

import json

import pytest

from portal.crypto import digest
from tests.cli_runner import Runner
from tests.test_cli import ACME


def active(portal: Runner) -> list[str]:
    hashes = portal.scalar(
        "SELECT string_agg(secret_hash, ',' ORDER BY id) FROM vendor_secret "
        "WHERE revoked_at IS NULL"
    )
    return str(hashes or "").split(",") if hashes else []


def audited(portal: Runner) -> list[tuple[str, dict[str, object]]]:
    rows = portal.scalar(
        "SELECT coalesce(json_agg(json_build_array(event, details) ORDER BY id), '[]') "
        "FROM audit_event WHERE event LIKE 'vendor.secret_%'"
    )
    return [(event, details) for event, details in rows]  # type: ignore[attr-defined]


def two_active(portal: Runner) -> tuple[str, str]:
    first = json.loads(portal(*ACME, "--json")[1])["secret"]
    second = json.loads(portal("vendor", "rotate-secret", "acme", "--json")[1])["secret"]
    assert active(portal) == [digest(first), digest(second)]
    return first, second


def test_with_two_active_a_rotation_names_the_older_and_writes_nothing(portal: Runner) -> None:
    first, _ = two_active(portal)
    older = portal.scalar(f"SELECT id FROM vendor_secret WHERE secret_hash = '{digest(first)}'")
    portal.execute(
        f"UPDATE vendor_secret SET last_used_at = '2026-12-01 09:30Z' WHERE id = {older}"
    )
    before = audited(portal)
    code, out, err = portal("vendor", "rotate-secret", "acme")
    assert (code, out) == (1, "")
    assert err.startswith("portal: acme has two active secrets") and err.count("\n") == 1
    assert f"the older, #{older} (created " in err
    assert "last used 2026-12-01 09:30 UTC" in err
    assert f"portal vendor revoke-secret acme {older}" in err and "--revoke-oldest" in err
    assert len(active(portal)) == 2 and digest(first) in active(portal)
    assert audited(portal) == before


def test_revoke_oldest_revokes_the_older_and_makes_a_new_one(portal: Runner) -> None:
    first, second = two_active(portal)
    older = portal.scalar(f"SELECT id FROM vendor_secret WHERE secret_hash = '{digest(first)}'")
    code, out, err = portal("vendor", "rotate-secret", "acme", "--revoke-oldest", "--json")
    assert (code, err) == (0, "")
    printed = json.loads(out)
    assert printed["revoked"] == older
    assert active(portal) == [digest(second), digest(printed["secret"])]
    assert audited(portal)[-2:] == [
        ("vendor.secret_revoked", {"credential_id": older, "via": "cli"}),
        ("vendor.secret_created", {"active": 2, "via": "cli"}),
    ]


def test_with_a_slot_free_a_rotation_just_adds_one(portal: Runner) -> None:
    first = json.loads(portal(*ACME, "--json")[1])["secret"]
    code, out, _ = portal("vendor", "rotate-secret", "acme", "--revoke-oldest", "--json")
    assert code == 0 and json.loads(out)["revoked"] is None
    assert active(portal)[0] == digest(first) and len(active(portal)) == 2


def test_revoke_secret_revokes_the_one_named(portal: Runner) -> None:
    first, second = two_active(portal)
    older = portal.scalar(f"SELECT id FROM vendor_secret WHERE secret_hash = '{digest(first)}'")
    code, out, err = portal("vendor", "revoke-secret", "acme", str(older), "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {"key": "acme", "revoked": older, "active": 1}
    assert active(portal) == [digest(second)]
    assert audited(portal)[-1] == ("vendor.secret_revoked", {"credential_id": older, "via": "cli"})
    code, _, err = portal("vendor", "revoke-secret", "acme", str(older))
    assert code == 1 and f"acme has no active secret #{older}" in err


def test_a_vendor_cannot_revoke_another_vendors_secret(portal: Runner) -> None:
    assert portal(*ACME)[0] == 0
    other = ("vendor", "add", "globex", "--name", "Globex", "--domain", "globex.example.com")
    assert portal(*other, "--token-url", "https://globex.example.com/t")[0] == 0
    globex = portal.scalar("SELECT s.id FROM vendor_secret s JOIN vendor v ON v.id = s.vendor_id "
                           "WHERE v.key = 'globex'")  # fmt: skip
    code, _, err = portal("vendor", "revoke-secret", "acme", str(globex))
    assert code == 1 and "acme has no active secret" in err
    assert len(active(portal)) == 2


@pytest.mark.parametrize("given", ["abc", "0", "-1", "01", "2147483648", "1.5"])
def test_a_malformed_id_is_refused_by_name(portal: Runner, given: str) -> None:
    assert portal(*ACME)[0] == 0
    code, _, err = portal("vendor", "revoke-secret", "acme", given)
    assert code == 2 and err.startswith("portal: argument ID:") and err.count("\n") == 1
    assert len(active(portal)) == 1

"""`portal member disable|enable LOGIN` and `portal staff disable|enable EMAIL`: the dashboard's
switch from the command line (portal/disabling.py), audited as made with it."""

import json
from typing import Any

from tests.cli_runner import Runner
from tests.test_cli import ACME

ADA = (
    *("member", "add", "--imis-id", "101", "--username", "ada", "--email", "ada@example.org"),
    *("--first-name", "Ada", "--last-name", "Lovelace", "--member-type", "REG"),
)
LIVE = "now(), now(), now() + interval '1 hour'"


def holdings(portal: Runner, column: str, account_id: int) -> None:
    """A live session and an unused password link for the account (member_id or staff_id)."""
    portal.execute(
        f"INSERT INTO auth_session (id_hash, {column}, created_at, last_seen_at, expires_at) "
        f"VALUES ('session-{column}', {account_id}, {LIVE})"
    )
    portal.execute(
        f"INSERT INTO account_link (token_hash, purpose, {column}, password_digest, created_at, "
        f"expires_at) VALUES ('link-{column}', 'reset', {account_id}, 'x', now(), "
        "now() + interval '30 minutes')"
    )


def a_grant(portal: Runner) -> None:
    """An OpenID Connect grant of member 1 in their session (the vendor is only its owner)."""
    assert portal(*ACME)[0] == 0
    portal.execute(
        "INSERT INTO oidc_grant (code_hash, vendor_id, member_id, session_id, redirect_uri, scope, "
        "code_challenge, auth_time, created_at, code_expires_at) SELECT 'code', 1, 1, id, "
        "'https://acme-learning.com/cb', 'openid', 'c', now(), now(), now() + interval '1 minute' "
        "FROM auth_session"
    )


def events(portal: Runner, event: str) -> list[dict[str, Any]]:
    found = portal.scalar(
        f"SELECT json_agg(json_build_object('details', details, 'staff_email', staff_email) "
        f"ORDER BY id) FROM audit_event WHERE event = '{event}'"
    )
    return found if isinstance(found, list) else []


def test_member_disable_withdraws_everything_and_enable_revives_nothing(portal: Runner) -> None:
    assert portal(*ADA)[0] == 0
    holdings(portal, "member_id", 1)
    a_grant(portal)
    code, out, err = portal("member", "disable", "ADA@example.org", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "username": "ada", "imis_id": "101", "enabled": False, "changed": True,
        "sessions_ended": 1, "links_voided": 1, "grants_revoked": 1,
    }  # fmt: skip
    assert portal.scalar("SELECT end_reason FROM auth_session") == "member_disabled"
    assert portal.scalar("SELECT revoke_reason FROM oidc_grant") == "member_disabled"
    [disabled] = events(portal, "member.disabled")
    assert disabled["details"]["via"] == "cli" and disabled["staff_email"] is None

    code, out, _ = portal("member", "disable", "101")
    assert (code, out) == (0, "member ada was already disabled: 0 sessions ended, 0 password "
                               "links voided, 0 OpenID Connect grants revoked\n")  # fmt: skip
    assert len(events(portal, "member.disabled")) == 1

    assert portal("member", "enable", "ada") == (0, "member ada enabled\n", "")
    assert portal.scalar("SELECT enabled FROM member") is True
    still = "SELECT ended_at IS NOT NULL AND EXISTS (SELECT 1 FROM account_link WHERE voided_at "
    still += "IS NOT NULL) AND EXISTS (SELECT 1 FROM oidc_grant WHERE revoked_at IS NOT NULL) "
    assert portal.scalar(still + "FROM auth_session") is True
    [enabled] = events(portal, "member.enabled")
    assert enabled["details"] == {
        "changes": {"enabled": {"before": False, "after": True}}, "via": "cli",
    }  # fmt: skip


def test_member_commands_refuse_bad_input_in_one_line(portal: Runner) -> None:
    assert portal(*ADA)[0] == 0
    code, out, err = portal("member", "disable", "nobody")
    assert (code, out) == (1, "")
    assert err == "portal: no member 'nobody' (give a username, email or iMIS ID)\n"
    code, _, err = portal("member", "enable")
    assert code == 2 and err.count("\n") == 1
    assert portal.scalar("SELECT count(*) FROM audit_event WHERE event LIKE 'member.%abled'") == 0
    assert portal.scalar("SELECT enabled FROM member") is True


def test_staff_disable_and_enable_keep_an_admin(portal: Runner) -> None:
    for email, role in (("jo@example.org", "admin"), ("sam@example.org", "viewer")):
        add = ("staff", "add", "--email", email, "--role", role, "--password-stdin")
        assert portal(*add, stdin="a long staff password\n")[0] == 0
    holdings(portal, "staff_id", 2)
    code, out, err = portal("staff", "disable", "sam@example.org", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "email": "sam@example.org", "enabled": False, "changed": True,
        "sessions_ended": 1, "links_voided": 1,
    }  # fmt: skip
    assert portal.scalar("SELECT end_reason FROM auth_session") == "staff_disabled"
    [disabled] = events(portal, "staff.disabled")
    assert disabled["details"]["staff"] == "sam@example.org" and disabled["details"]["via"] == "cli"

    code, out, err = portal("staff", "disable", "jo@example.org")
    assert (code, out) == (1, "")
    assert err == "portal: this is the last enabled admin; make another admin first\n"
    assert portal.scalar("SELECT enabled FROM staff WHERE email = 'jo@example.org'") is True

    assert portal("staff", "enable", "sam@example.org")[:2] == (
        0,
        "staff sam@example.org enabled\n",
    )
    assert portal("staff", "enable", "nobody@example.org")[2] == (
        "portal: no staff account 'nobody@example.org'\n"
    )

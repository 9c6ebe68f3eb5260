"""`portal staff reset-mfa EMAIL`: the last admin, phone lost, gets back in with the password."""

import json

from tests.cli_runner import Runner

ADD = ("staff", "add", "--email", "jo@example.org", "--role", "admin", "--password-stdin")


def test_reset_mfa_turns_two_factor_off_and_voids_the_recovery_codes(portal: Runner) -> None:
    portal(*ADD, stdin="a long staff password\n")
    portal.execute(
        "UPDATE staff SET totp_secret = 'JBSWY3DPEHPK3PXP', totp_confirmed_at = now(), "
        "totp_last_step = 1"
    )
    portal.execute("INSERT INTO staff_recovery_code (staff_id, code_hash) VALUES (1, 'x')")
    code, out, err = portal("staff", "reset-mfa", "JO@example.org", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {"email": "jo@example.org", "reset": True, "was_on": True}
    assert portal.scalar("SELECT totp_secret IS NULL AND totp_confirmed_at IS NULL FROM staff")
    assert portal.scalar("SELECT count(*) FROM staff_recovery_code") == 0
    assert (
        portal.scalar("SELECT details->>'via' FROM audit_event WHERE event = 'staff.mfa_reset'")
        == "cli"
    )
    code, out, _ = portal("staff", "reset-mfa", "jo@example.org")
    assert code == 0 and "had no two-factor sign-in" in out


def test_reset_mfa_of_an_unknown_account_is_one_line(portal: Runner) -> None:
    code, out, err = portal("staff", "reset-mfa", "nobody@example.org")
    assert (code, out) == (1, "")
    assert err == "portal: no staff account 'nobody@example.org'\n"
    code, _, err = portal("staff", "reset-mfa")
    assert code == 2 and err.count("\n") == 1

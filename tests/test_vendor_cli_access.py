"""`portal vendor set KEY --access …`: who may use a vendor's site from the command line, through
the dashboard's rules and audited as the dashboard audits it (`vendor.access_changed`, before and
after in words, `via: cli`); `portal vendor show` says the rule in words; a bad value is one line
that names its option, a non-zero exit, and nothing written."""

from typing import Any

from tests.cli_runner import Runner
from tests.test_cli import ACME
from tests.test_vendor_cli import shown


def access_events(portal: Runner) -> list[dict[str, Any]]:
    rows = portal.scalar(
        "SELECT coalesce(json_agg(details ORDER BY id), '[]') FROM audit_event "
        "WHERE event = 'vendor.access_changed'"
    )
    assert isinstance(rows, list)
    return rows


def test_set_changes_who_may_use_the_site_and_show_says_it_in_words(portal: Runner) -> None:
    assert portal(*ACME)[0] == 0
    assert shown(portal, "acme")["access"] == "Everyone who signs in"
    code, out, err = portal(
        "vendor", "set", "acme", "--access", "good-standing", "--member-types", "STU,REG"
    )
    assert (code, err) == (0, ""), err
    wanted = "Members in good standing whose member type is STU or REG"
    assert f"access: Everyone who signs in → {wanted}" in out
    code, out, err = portal("vendor", "show", "acme")
    assert (code, err) == (0, "") and f"access: {wanted}\n" in out
    [details] = access_events(portal)
    assert details["via"] == "cli"
    assert details["changes"] == {"access": {"before": "Everyone who signs in", "after": wanted}}

    # Without --access, an option changes its own part only.
    assert portal("vendor", "set", "acme", "--statuses", "A")[0] == 0
    assert shown(portal, "acme")["access"] == f"{wanted} and whose status is A"
    assert portal("vendor", "set", "acme", "--member-types", "")[0] == 0
    assert shown(portal, "acme")["access"] == "Members in good standing whose status is A"
    # With it, what is not given goes: everyone is everyone.
    assert portal("vendor", "set", "acme", "--access", "everyone")[0] == 0
    assert shown(portal, "acme")["access"] == "Everyone who signs in"
    assert len(access_events(portal)) == 4
    assert portal("vendor", "set", "acme", "--access", "everyone")[1] == "nothing changed\n"
    assert len(access_events(portal)) == 4


def test_a_new_vendor_may_start_with_a_rule(portal: Runner) -> None:
    code, _, err = portal(*ACME, "--access", "good-standing")
    assert (code, err) == (0, ""), err
    assert shown(portal, "acme")["access"] == "Members in good standing"
    created = portal.scalar("SELECT details FROM audit_event WHERE event = 'vendor.created'")
    assert created["changes"]["access"]["after"] == "Members in good standing"  # type: ignore[index]


def test_a_bad_value_is_one_line_naming_its_option_and_nothing_is_written(
    portal: Runner,
) -> None:
    assert portal(*ACME)[0] == 0
    code, out, err = portal("vendor", "set", "acme", "--access", "members")
    assert code != 0 and out == "" and len(err.strip().splitlines()) == 1
    assert "--access" in err and "invalid choice: 'members'" in err
    many = ",".join(f"T{i}" for i in range(51))
    code, out, err = portal(
        "vendor", "set", "acme", "--name", "Renamed", "--access", "good-standing",
        "--member-types", many,
    )  # fmt: skip
    assert (code, out) == (1, "")
    assert err == "portal: --member-types: Choose at most 50.\n"
    code, _, err = portal("vendor", "set", "acme", "--statuses", "A," + "X" * 65)
    assert code == 1 and err.startswith("portal: --statuses: “XXXX") and err.count("\n") == 1
    after = shown(portal, "acme")
    assert (after["name"], after["access"]) == ("Acme Learning", "Everyone who signs in")
    assert access_events(portal) == []

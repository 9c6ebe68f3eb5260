"""`portal vendor add --backchannel-logout-url` and `portal vendor set-logout` (issue 16): the
URLs are checked against the vendor's domains like its other URLs; bad input is one line."""

import json

import pytest

from tests.cli_runner import Runner
from tests.test_cli import ACME

BACKCHANNEL = "https://api.acme-learning.com/sso/logout"


def test_vendor_add_takes_a_back_channel_url(portal: Runner) -> None:
    code, _, err = portal(*ACME, "--backchannel-logout-url", BACKCHANNEL)
    assert (code, err) == (0, "")
    assert portal.scalar("SELECT backchannel_logout_url FROM vendor") == BACKCHANNEL


def test_set_logout_sets_changes_and_removes_and_audits(portal: Runner) -> None:
    assert portal(*ACME)[0] == 0
    code, out, err = portal(
        "vendor", "set-logout", "acme", "--backchannel-logout-url", BACKCHANNEL, "--json"
    )
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "key": "acme",
        "backchannel_logout_url": BACKCHANNEL,
        "frontchannel_logout_url": None,
        "backchannel_logout_session_required": False,
    }
    assert portal.scalar("SELECT count(*) FROM audit_event WHERE event = 'vendor.updated'") == 1
    code, out, _ = portal("vendor", "set-logout", "acme", "--backchannel-logout-url", "")
    assert code == 0 and "backchannel_logout_url: (none)" in out
    assert portal.scalar("SELECT backchannel_logout_url FROM vendor") is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://evil.com/logout", "must be on one of this vendor's domains"),
        ("http://acme-learning.com/logout", "https"),
        ("https://acme-learning.com/logout#x", "fragment"),
        ("https://acme-learning.com:8443/logout", "port"),
    ],
)
def test_a_bad_url_is_one_line_and_writes_nothing(portal: Runner, url: str, reason: str) -> None:
    assert portal(*ACME)[0] == 0
    code, out, err = portal("vendor", "set-logout", "acme", "--backchannel-logout-url", url)
    assert (code, out) == (1, "")
    assert err.startswith("portal: ") and err.count("\n") == 1 and reason in err, err
    assert "sign-out notification address" in err
    assert portal.scalar("SELECT backchannel_logout_url FROM vendor") is None


def test_set_logout_records_that_an_oidc_vendor_requires_sid(portal: Runner) -> None:
    assert portal(*ACME)[0] == 0
    code, out, _ = portal("vendor", "set-logout", "acme", "--backchannel-session-required")
    assert code == 0 and "backchannel_logout_session_required: True" in out
    assert portal.scalar("SELECT backchannel_logout_session_required FROM vendor") is True


def test_set_logout_needs_a_url_and_a_known_vendor(portal: Runner) -> None:
    code, _, err = portal("vendor", "set-logout", "acme", "--backchannel-logout-url", BACKCHANNEL)
    assert code == 1 and "no vendor with key 'acme'" in err
    assert portal(*ACME)[0] == 0
    code, _, err = portal("vendor", "set-logout", "acme")
    assert code == 1 and "--backchannel-logout-url" in err

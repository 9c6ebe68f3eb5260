"""`portal vendor add --protocol oidc` (protocol.md §10): an OpenID Connect vendor from the
command line, with its exact redirect URIs; bad input is one line and writes nothing."""

import json

import pytest

from portal.crypto import digest
from tests.cli_runner import Runner

FORUM = (
    *("vendor", "add", "forum", "--name", "Community Forum", "--protocol", "oidc"),
    *("--domain", "forum.example.com"),
    *("--redirect-uri", "https://forum.example.com/oidc/callback"),
)


def uris(runner: Runner, kind: str) -> object:
    return runner.scalar(
        f"SELECT string_agg(uri, ' ' ORDER BY id) FROM vendor_redirect_uri WHERE kind = '{kind}'"
    )


def test_an_oidc_vendor_gets_a_client_id_and_a_secret_once(portal: Runner) -> None:
    code, out, err = portal(
        *FORUM,
        *("--redirect-uri", "https://app.forum.example.com/callback"),
        *("--post-logout-redirect-uri", "https://forum.example.com/"),
        "--json",
    )
    assert (code, err) == (0, "")
    printed = json.loads(out)
    assert printed.keys() == {"key", "client_id", "secret"}
    assert printed["key"] == printed["client_id"] == "forum"
    assert portal.scalar("SELECT secret_hash FROM vendor_secret") == digest(printed["secret"])
    assert portal.scalar("SELECT protocol || ' ' || public_client FROM vendor") == "oidc false"
    assert portal.scalar("SELECT token_url FROM vendor") is None
    assert uris(portal, "login") == (
        "https://forum.example.com/oidc/callback https://app.forum.example.com/callback"
    )
    assert uris(portal, "post_logout") == "https://forum.example.com/"
    assert portal.scalar("SELECT count(*) FROM audit_event WHERE event = 'vendor.created'") == 1


def test_a_public_client_gets_no_secret(portal: Runner) -> None:
    code, out, _ = portal(*FORUM, "--public", "--json")
    assert code == 0
    assert json.loads(out) == {"key": "forum", "client_id": "forum", "secret": None}
    assert portal.scalar("SELECT public_client FROM vendor") is True
    assert portal.scalar("SELECT count(*) FROM vendor_secret") == 0


def test_without_json_the_secret_is_said_once_in_words(portal: Runner) -> None:
    code, out, _ = portal(*FORUM)
    assert code == 0
    assert "client ID: forum" in out
    assert "client secret (shown only now" in out


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        ((*FORUM[:-2], "--redirect-uri", "http://forum.example.com/cb"), "https"),
        ((*FORUM[:-2], "--redirect-uri", "https://*.forum.example.com/cb"), "wildcard"),
        ((*FORUM[:-2], "--redirect-uri", "https://evil.com/cb"), "not on forum.example.com"),
        ((*FORUM[:-2], "--redirect-uri", "https://forum.example.com/cb#x"), "#"),
        ((*FORUM[:-2], "--redirect-uri", "https://forum.example.com:8443/cb"), "port"),
        ((*FORUM[:-2], "--redirect-uri", "forum.example.com/cb"), "redirect URI"),
        (FORUM[:-2], "at least one"),
        ((*FORUM, "--post-logout-redirect-uri", "https://evil.com/"), "post-logout"),
        (
            (*FORUM[:3], "--name", "Forum", "--token-url", "https://forum.example.com/t",
             "--domain", "forum.example.com", "--redirect-uri", "https://forum.example.com/cb"),
            "--protocol oidc",
        ),
        (
            (*FORUM[:3], "--name", "Forum", "--domain", "forum.example.com", "--public"),
            "--protocol oidc",
        ),
        ((*FORUM[:3], "--name", "Forum", "--domain", "forum.example.com"), "token URL"),
        ((*FORUM[:5], "--protocol", "wsfed", *FORUM[7:]), "invalid choice"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(
    portal: Runner,
    argv: tuple[str, ...],
    reason: str,
) -> None:
    code, out, err = portal(*argv)
    assert code != 0
    assert out == ""
    assert err.startswith("portal: ") and err.count("\n") == 1
    assert reason.lower() in err.lower()
    for table in ("vendor", "vendor_redirect_uri", "vendor_secret", "audit_event"):
        assert portal.scalar(f"SELECT count(*) FROM {table}") == 0

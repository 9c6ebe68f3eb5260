"""`portal vendor set` and `portal vendor show` (issue 21, item 21): the command line changes
every setting the dashboard can, through the same rules, audited with the dashboard's events
and before/after; a refused value names its option, and nothing at all is written."""

import json
from typing import Any

import pytest

from tests.cli_runner import Runner
from tests.test_cli import ACME

FORUM = (
    *("vendor", "add", "forum", "--name", "Community Forum", "--protocol", "oidc"),
    *("--domain", "forum.example.com", "--redirect-uri", "https://forum.example.com/cb"),
)


def shown(portal: Runner, key: str = "forum") -> dict[str, Any]:
    code, out, err = portal("vendor", "show", key, "--json")
    assert (code, err) == (0, ""), err
    return dict(json.loads(out))


def events(portal: Runner) -> list[tuple[str, dict[str, Any]]]:
    rows = portal.scalar(
        "SELECT coalesce(json_agg(json_build_array(event, details) ORDER BY id), '[]') "
        "FROM audit_event WHERE event <> 'vendor.created'"
    )
    return [(event, details) for event, details in rows]  # type: ignore[attr-defined]


def test_set_changes_what_the_dashboard_can_and_audits_it_as_the_dashboard_does(
    portal: Runner,
) -> None:
    assert portal(*FORUM)[0] == 0
    code, out, err = portal(
        *("vendor", "set", "forum", "--name", "The Forum", "--add-domain", "forum.example.org"),
        *("--scopes", "openid profile membership", "--refresh-tokens", "--pairwise"),
        *("--redirect-uri", "https://forum.example.org/cb", "--redirect-uri", ""),
        *("--redirect-uri", "https://forum.example.com/cb2", "--omit-iss"),
        *("--id-token-alg", "ES256", "--post-logout-redirect-uri", "https://forum.example.org/"),
        *("--start-url", "https://forum.example.org/go", "--fields", "ImisId,Email=mail"),
        *("--backchannel-logout-url", "https://forum.example.org/bye", "--disable", "--json"),
    )
    assert (code, err) == (0, ""), err
    after = shown(portal)
    assert after["name"] == "The Forum" and after["enabled"] is False
    assert after["scopes"] == "openid profile membership"
    assert (after["refresh_tokens"], after["pairwise_subject"], after["omit_iss"]) == (
        True,
        True,
        True,
    )
    assert after["id_token_signed_response_alg"] == "ES256"
    assert after["redirect_uris"] == [
        "https://forum.example.org/cb",
        "https://forum.example.com/cb2",
    ]
    assert after["domains"] == ["forum.example.com", "forum.example.org"]
    assert after["fields"] == ["ImisId", "Email=mail"]
    printed = json.loads(out)["changes"]
    assert printed["scopes"] == {"before": "openid profile email", "after": after["scopes"]}

    recorded = events(portal)
    assert [event for event, _ in recorded] == [
        "vendor.updated",
        "vendor.domain_added",
        "vendor.fields_changed",
        "vendor.disabled",
    ]
    updated, domain, fields, disabled = (details for _, details in recorded)
    assert all(details["via"] == "cli" for _, details in recorded)
    assert updated["changes"]["name"] == {"before": "Community Forum", "after": "The Forum"}
    assert updated["changes"]["refresh_tokens"] == {"before": False, "after": True}
    assert updated["changes"]["id_token_signed_response_alg"] == {
        "before": "RS256",
        "after": "ES256",
    }
    assert updated["changes"]["redirect_uris"]["before"] == ["https://forum.example.com/cb"]
    assert "domains" not in updated["changes"] and "enabled" not in updated["changes"]
    assert domain == {"domain": "forum.example.org", "via": "cli"}
    assert fields["changes"]["fields"]["after"] == ["ImisId", "Email=mail"]
    assert disabled["changes"] == {"enabled": {"before": True, "after": False}}


def test_show_has_every_setting_and_the_secrets_but_never_a_secret(portal: Runner) -> None:
    secret = json.loads(portal(*FORUM, "--json")[1])["secret"]
    found = shown(portal)
    assert set(found) == {
        *("key", "name", "protocol", "enabled", "domains", "fields", "secrets"),
        *("token_url", "signout_url", "start_url", "my_sites", "redirect_uris", "post_logout_uris"),
        *("backchannel_logout_url", "frontchannel_logout_url"),
        *("backchannel_logout_session_required", "public_client", "scopes", "refresh_tokens"),
        *("pairwise_subject", "omit_iss", "id_token_signed_response_alg"),
        *("saml_entity_id", "saml_metadata_digest", "saml_metadata", "saml_metadata_url"),
        *("saml_nameid_format", "saml_encrypt_assertions", "saml_cipher", "saml_sign_response"),
        *("saml_attribute_name_format", "saml_idp_initiated", "saml_relay_state"),
        "access",  # who may use the site, in words
    }
    assert (found["protocol"], found["scopes"], found["refresh_tokens"]) == (
        "oidc",
        "openid profile email",  # what a vendor added from the command line may ask for
        False,
    )
    [listed] = found["secrets"]
    assert set(listed) == {"id", "created", "last_used"} and listed["last_used"] is None
    stored = str(portal.scalar("SELECT secret_hash FROM vendor_secret"))
    code, out, _ = portal("vendor", "show", "forum")
    assert code == 0 and f"secrets: #{listed['id']} (created " in out
    for text in (json.dumps(found), out):
        assert secret not in text and stored not in text


def test_add_takes_the_same_options(portal: Runner) -> None:
    code, _, err = portal(
        *FORUM, *("--scopes", "openid membership", "--refresh-tokens", "--omit-iss"),
        *("--id-token-alg", "ES256", "--disable", "--backchannel-session-required"),
    )  # fmt: skip
    assert (code, err) == (0, "")
    found = shown(portal)
    assert (found["scopes"], found["refresh_tokens"], found["omit_iss"]) == (
        "openid membership",
        True,
        True,
    )
    assert (found["id_token_signed_response_alg"], found["enabled"]) == ("ES256", False)
    assert found["backchannel_logout_session_required"] is True
    created = portal.scalar("SELECT details FROM audit_event WHERE event = 'vendor.created'")
    assert created["changes"]["scopes"] == {"before": None, "after": "openid membership"}  # type: ignore[index]


def test_a_vendor_moves_between_sign_in_methods_in_one_command(portal: Runner) -> None:
    assert portal(*ACME)[0] == 0
    code, _, err = portal(
        *("vendor", "set", "acme", "--protocol", "oidc", "--token-url", ""),
        *("--redirect-uri", "https://acme-learning.com/oidc/callback"),
    )
    assert (code, err) == (0, "")
    assert (shown(portal, "acme")["protocol"], shown(portal, "acme")["token_url"]) == ("oidc", None)
    code, _, err = portal(
        *("vendor", "set", "acme", "--protocol", "enhanced"),
        *("--token-url", "https://acme-learning.com/sso/token"),
    )
    assert (code, err) == (0, "")
    assert shown(portal, "acme")["protocol"] == "enhanced"


def test_addresses_move_to_a_new_domain_in_one_command(portal: Runner) -> None:
    assert portal(*FORUM)[0] == 0
    code, _, err = portal(
        *("vendor", "set", "forum", "--add-domain", "community.example.org"),
        *("--redirect-uri", "https://community.example.org/cb"),
        *("--remove-domain", "forum.example.com"),
    )
    assert (code, err) == (0, "")
    assert shown(portal)["domains"] == ["community.example.org"]
    assert [event for event, _ in events(portal)] == [
        "vendor.updated",
        "vendor.domain_added",
        "vendor.domain_removed",
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("--redirect-uri", "http://forum.example.com/cb"), "--redirect-uri: "),
        (("--redirect-uri", ""), "--redirect-uri: Enter at least one"),
        (("--post-logout-redirect-uri", "https://evil.example.com/"), "--post-logout-redirect-uri"),
        (("--scopes", "openid admin"), "--scopes: Unknown scope 'admin'"),
        (("--scopes", "openid offline_access"), "--scopes: offline_access comes with"),
        (("--signout-url", "https://evil.example.com/"), "--signout-url: The sign-out URL"),
        (("--start-url", "https://evil.example.com/"), "--start-url: "),
        (("--backchannel-logout-url", "https://forum.example.com/#x"), "--backchannel-logout-url"),
        (("--token-url", "http://forum.example.com/t"), "--token-url: The token URL must use"),
        (("--name", " "), "--name: The vendor name"),
        (("--my-sites", "secret"), "--my-sites: On My sites must be shown, coming-soon or hidden"),
        (("--add-domain", "co.uk"), "--add-domain: co.uk is a public suffix"),
        (("--remove-domain", "forum.example.com"), "--remove-domain: a vendor needs at least one"),
        (("--remove-domain", "other.example.com"), "--remove-domain: other.example.com is not"),
        (("--id-token-alg", "HS256"), "argument --id-token-alg: invalid choice"),
        (("--fields", "ImisId,Shoesize"), "argument --fields: unknown field 'Shoesize'"),
        (("--protocol", "enhanced"), "--protocol: Enhanced SSO needs a token URL"),
        (("--refresh-tokens", "--no-refresh-tokens"), "not allowed with argument"),
    ],
)  # fmt: skip
def test_a_bad_value_names_its_option_and_nothing_is_written(
    portal: Runner, change: tuple[str, ...], reason: str
) -> None:
    assert portal(*FORUM)[0] == 0
    before = shown(portal)
    code, out, err = portal("vendor", "set", "forum", "--name", "Renamed", "--enable", *change)
    assert code != 0 and out == ""
    assert err.startswith("portal: ") and err.count("\n") == 1
    assert reason in err, err
    assert shown(portal) == before
    assert events(portal) == []


def test_openid_connect_settings_are_refused_for_an_enhanced_vendor(portal: Runner) -> None:
    assert portal(*ACME)[0] == 0
    code, _, err = portal("vendor", "set", "acme", "--scopes", "openid", "--omit-iss")
    assert code == 1 and "--scopes, --omit-iss/--send-iss: for --protocol oidc" in err
    code, _, err = portal(*ACME[:2], "acme2", *ACME[3:], "--id-token-alg", "ES256")
    assert code == 1 and "--id-token-alg: for --protocol oidc" in err
    assert portal.scalar("SELECT count(*) FROM vendor") == 1


def test_set_needs_a_change_and_a_known_vendor(portal: Runner) -> None:
    code, _, err = portal("vendor", "set", "forum", "--name", "X")
    assert code == 1 and "no vendor with key 'forum'" in err
    assert portal(*FORUM)[0] == 0
    code, _, err = portal("vendor", "set", "forum")
    assert code == 1 and "nothing to change" in err
    code, out, _ = portal("vendor", "set", "forum", "--name", "Community Forum")
    assert (code, out) == (0, "nothing changed\n")
    assert events(portal) == []


def test_my_sites_is_set_on_add_and_set_and_audited(portal: Runner) -> None:
    assert portal(*FORUM, "--my-sites", "coming-soon")[0] == 0
    assert shown(portal)["my_sites"] == "coming-soon"
    created = portal.scalar("SELECT details FROM audit_event WHERE event = 'vendor.created'")
    assert created["changes"]["my_sites"] == {"before": None, "after": "coming-soon"}  # type: ignore[index]
    code, out, err = portal("vendor", "set", "forum", "--my-sites", "hidden")
    assert (code, err) == (0, "") and "my_sites: coming-soon → hidden" in out
    [(event, details)] = events(portal)
    assert event == "vendor.updated"
    assert details["changes"] == {"my_sites": {"before": "coming-soon", "after": "hidden"}}

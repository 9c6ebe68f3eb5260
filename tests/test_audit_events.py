from portal import audit_details, audit_events
from portal.audit_events import describe


def test_a_silent_sign_in_check_finding_nobody_is_expected_not_a_failure() -> None:
    d = describe("sso.passive", "failure", {"reason": "login_required"}, "Acme Learning")
    assert d.kind == "expected" and d.outcome == "Expected" and d.advice is None
    assert d.summary == "Silent sign-in check by Acme Learning"
    assert not audit_events.is_problem("sso.passive", "failure", "login_required")


def test_problems_say_what_to_do() -> None:
    for event, reason, words in [
        ("vendor.auth", "wrong_secret", "Secrets tab"),
        ("return_url.rejected", "return_url", "add its domain"),
        ("token.replay", "replay", "used twice"),
        ("sign_in", "directory_unavailable", "iMIS is up"),
    ]:
        d = describe(event, "failure", {"reason": reason}, "Acme Learning")
        assert d.kind == "problem" and d.outcome == "Failure", event
        assert d.advice is not None and words in d.advice, event


def test_a_wrong_password_is_a_failure_with_nothing_to_fix() -> None:
    d = describe("sign_in", "failure", {"reason": "wrong_password"}, None)
    assert (d.summary, d.reason, d.kind, d.advice) == (
        "Member sign-in failed",
        "wrong password",
        "failure",
        None,
    )


def test_events_read_in_words_with_the_vendors_name() -> None:
    assert describe("token.redeemed", "success", {}, "Acme Learning").summary == (
        "Token redeemed by Acme Learning"
    )
    assert audit_events.event_words("vendor.created", "Acme") == "Acme added"
    assert audit_events.event_words("token.issued") == "Sign-in token issued for an unknown vendor"
    assert audit_events.event_words("someday.new_thing") == "Someday: new thing"


def test_changes_read_before_then_after_in_words() -> None:
    details = {
        "changes": {
            "paid_through": {"before": "2024-12-31", "after": "2026-12-31"},
            "member_type": {"before": "REG", "after": "FEL"},
            "enabled": {"before": True, "after": False},
            "fields": {"before": ["ImisId"], "after": ["ImisId", "PaidThrough=paid_to"]},
            "signout_url": {"before": None, "after": "https://acme.example/bye"},
        }
    }
    rows = [(c.label, c.before, c.after) for c in audit_details.changes(details)]
    assert rows == [
        ("Paid through", "31 Dec 2024", "31 Dec 2026"),
        ("Member type", "Regular (REG)", "FEL"),
        ("Enabled", "Yes", "No"),
        ("Fields sent", "iMIS ID", "iMIS ID, Paid through (sent as paid_to)"),
        ("Sign-out page", "", "https://acme.example/bye"),
    ]
    assert audit_details.changes({"reason": "x"}) == []


def test_other_details_leave_the_reason_and_changes_to_their_own_places() -> None:
    details = {"reason": "wrong_secret", "changes": {}, "claimed_key": "acme", "ended": 2}
    assert audit_details.other_details(details) == [
        ("Vendor key given", "acme"),
        ("Sessions ended", "2"),
    ]


def test_openid_connect_problems_say_what_to_do() -> None:
    for event, reason, words in [
        ("oidc.code_replay", "replay", "used twice"),
        ("oidc.refresh_reuse", "reuse", "refresh tokens"),
        ("oidc.client_auth", "wrong_secret", "Secrets tab"),
        ("oidc.rejected", "redirect_uri", "redirect URIs"),
    ]:
        d = describe(event, "failure", {"reason": reason}, "Learn Academy")
        assert d.kind == "problem" and d.advice is not None and words in d.advice, event
    quiet = describe("oidc.login_required", "failure", {"reason": "login_required"}, "Learn")
    assert quiet.kind == "expected"


def test_a_member_declining_and_a_sign_out_awaiting_the_member_are_expected() -> None:
    for event, reason in [
        ("oidc.rejected", "access_denied"),
        ("oidc.login_required", "other_member"),
        ("oidc.logout_asked", "no_hint"),
        ("oidc.logout_asked", "other_session"),
        ("oidc.logout_asked", "id_token_hint"),
    ]:
        d = describe(event, "failure", {"reason": reason}, "Learn Academy")
        assert d.kind == "expected" and d.advice is None, (event, reason)
    assert describe(
        "oidc.logout_asked", "failure", {"reason": "no_hint"}, "Learn Academy"
    ).summary == ("Member asked to confirm a sign-out requested by Learn Academy")


def test_saml_events_read_in_staff_words() -> None:
    assert describe("saml.signed_in", "success", {}, "Learning Hub").summary == (
        "Member signed in to Learning Hub (SAML)"
    )
    passive = describe("saml.passive", "failure", {"reason": "login_required"}, "Learning Hub")
    assert passive.kind == "expected"
    refused = describe("saml.refused", "failure", {"reason": "unregistered_acs"}, "Learning Hub")
    assert refused.kind == "problem" and refused.advice and "metadata" in refused.advice
    assert refused.reason == "asks for the answer at an address not registered for the site"
    assert describe("saml.refused", "failure", {"reason": "too_old"}, None).reason == (
        "the request is too old"
    )


def test_saml_sign_outs_through_the_browser_read_in_staff_words() -> None:
    event = "saml.logout_through_browser"
    assert describe(event, "success", {}, "Learning Hub").summary == (
        "Member signed out of Learning Hub through their browser (SAML)"
    )
    unsigned = describe(event, "failure", {"reason": "unsigned"}, "Learning Hub")
    assert unsigned.summary == (
        "Learning Hub did not confirm signing a member out through their browser (SAML)"
    )
    assert unsigned.kind == "problem" and unsigned.advice
    assert "may still be signed in" in unsigned.advice
    assert unsigned.reason == "not signed, and the site's requests must be"
    refused = describe(event, "failure", {"reason": "not_signed_out", "status": "Responder"}, None)
    assert refused.reason == "the site answered that it could not sign the member out"

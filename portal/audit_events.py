"""What each audit event means to association staff: its words, whether it is expected, and
when it is a problem someone should act on, what to do. The one place the dashboard (overview,
audit log, member and vendor pages) reads an event from; its details' words are
portal/audit_details.py."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from portal import access_rules, reasons

Kind = Literal["success", "expected", "failure", "problem"]
VENDOR = "{vendor}"

# Event name -> its words; {vendor} is the vendor's name. A failed outcome has its own words.
WORDS: dict[str, str] = {
    "token.issued": "Sign-in token issued for {vendor}",
    "token.redeemed": "Token redeemed by {vendor}",
    "token.rejected": "Token refused for {vendor}",
    "token.replay": "Token used twice by {vendor}",
    "vendor.auth": "{vendor} could not log in to the user service",
    "api.rate_limited": "{vendor} sent too many requests",
    "sso.rejected": "Sign-in request from {vendor} refused",
    "sso.passive": "Silent sign-in check by {vendor}",
    "return_url.rejected": "Return address refused for {vendor}",
    "oidc.authorized": "Member signed in to {vendor} (OpenID Connect)",
    "oidc.rejected": "OpenID Connect sign-in request from {vendor} refused",
    "oidc.login_required": "Silent OpenID Connect sign-in check by {vendor}",
    "oidc.code_redeemed": "Member's sign-in to {vendor} completed (OpenID Connect)",
    "oidc.refreshed": "{vendor} renewed a member's access (OpenID Connect)",
    "oidc.token_rejected": "{vendor} was refused tokens (OpenID Connect)",
    "oidc.code_replay": "Sign-in code used twice by {vendor}",
    "oidc.refresh_reuse": "Renewal token used twice by {vendor}",
    "oidc.client_auth": "{vendor} could not log in to the token endpoint",
    "oidc.logout_asked": "Member asked to confirm a sign-out requested by {vendor}",
    "oidc.userinfo_rejected": "{vendor} was refused a member's details (OpenID Connect)",
    "oidc.token_revoked": "{vendor} ended its access to a member's details (OpenID Connect)",
    "saml.signed_in": "Member signed in to {vendor} (SAML)",
    "saml.refused": "SAML sign-in request from {vendor} refused",
    "saml.passive": "Silent SAML sign-in check by {vendor}",
    "access.refused": "Member refused by the access rule of {vendor}",
    "saml.logout_refused": "SAML sign-out request from {vendor} refused",
    "sign_in": "Member signed in",
    "sign_out": "Member signed out",
    "staff.sign_in": "Staff signed in",
    "staff.sign_out": "Staff signed out",
    "session.expired": "Session timed out",
    "session.revoked": "Session ended by staff",
    "session.revoked_all": "All of a member's sessions ended by staff",
    "member.created": "Member added",
    "member.updated": "Member details changed",
    "member.enabled": "Member enabled",
    "member.disabled": "Member disabled",
    "member.password_set": "Member's password set by staff",
    "member.password_link_sent": "Password link emailed to a member by staff",
    "member.unlocked": "Member's sign-in unlocked",
    "member.imported": "Members imported from a file",
    "member.invited": "Invitation to set a password emailed to a member",
    "member.invitation_accepted": "Member accepted the invitation and set a password",
    "member.password_changed": "Member changed their password on their account page",
    "member.session_ended": "Member signed out another browser from their account page",
    "member.signed_out_everywhere": "Member signed out everywhere from their account page",
    "member.data_downloaded": "Member downloaded what the portal holds about them",
    "password.reset_requested": "Member asked for a link to choose a new password",
    "password.reset": "Member chose a new password with an emailed link",
    "staff.created": "Staff account added",
    "staff.role_changed": "Staff role changed",
    "staff.enabled": "Staff account enabled",
    "staff.disabled": "Staff account disabled",
    "staff.unlocked": "Staff sign-in unlocked",
    "staff.second_factor": "Staff two-factor code accepted",
    "staff.mfa_enrolled": "Staff member turned on two-factor sign-in",
    "staff.mfa_reset": "Staff member's two-factor sign-in reset",
    "staff.recovery_codes_created": "Staff member made new recovery codes",
    "staff.password_changed": "Staff member changed their password",
    "staff.password_link_sent": "Link to choose a new password emailed to a staff member",
    "staff.password_set_by_link": "Staff member chose a new password with an emailed link",
    "mail.failed": "An email could not be sent",
    "vendor.created": "{vendor} added",
    "vendor.updated": "Settings of {vendor} changed",
    "vendor.enabled": "{vendor} enabled",
    "vendor.disabled": "{vendor} disabled",
    "vendor.domain_added": "Domain added to {vendor}",
    "vendor.domain_removed": "Domain removed from {vendor}",
    "vendor.fields_changed": "Fields sent to {vendor} changed",
    "vendor.access_changed": "Who may use {vendor} changed",
    "vendor.secret_created": "New API secret for {vendor}",
    "vendor.secret_revoked": "API secret of {vendor} revoked",
    "logout.notified": "{vendor} told that a member signed out",
    "logout.test_sent": "Test sign-out notice accepted by {vendor}",
    "saml.logout_notified": "{vendor} told that a member signed out (SAML)",
    "saml.logout_through_browser": "Member signed out of {vendor} through their browser (SAML)",
    "keys.rotated": "Token-signing keys replaced",
    "keys.revoked": "Token-signing key withdrawn",
    "keys.resealed": "Stored keys re-encrypted with the portal's secret key",
    "keys.made": "New token-signing key made",
    "audit.exported": "Audit log exported",
    "audit.purged": "Old audit events deleted",
    "audit.suppressed": "Too many refused requests from one network: the rest were not logged",
}
FAILED_WORDS: dict[str, str] = {
    "sign_in": "Member sign-in failed",
    "staff.sign_in": "Staff sign-in failed",
    "staff.second_factor": "Staff two-factor code refused",
    "staff.password_changed": "Staff password change refused",
    "member.password_changed": "Member's password change refused (current password not right)",
    "password.reset_requested": "Password link asked for, none sent",
    "member.password_link_sent": "Password link to a member held back (too many asked for)",
    "logout.notified": "{vendor} could not be told that a member signed out",
    "logout.test_sent": "Test sign-out notice not accepted by {vendor}",
    "saml.logout_notified": "{vendor} could not be told that a member signed out (SAML)",
    "saml.logout_through_browser": "{vendor} did not confirm signing a member out through their "
    "browser (SAML)",
    "password.reset": "Link to choose a new password refused",
    "member.invitation_accepted": "Invitation link refused",
    "staff.password_set_by_link": "Staff link to choose a new password refused",
    "oidc.token_revoked": "{vendor} asked to end access the portal does not know of",
}

# Why a SAML message was refused (portal/saml/refusals.py), in words.
SAML_REASONS: dict[str, str] = {
    "missing": "a part the message needs is missing",
    "duplicate": "a part of the message given twice",
    "too_large": "the message is too large",
    "not_base64": "the message is not encoded as SAML requires (base64)",
    "not_deflate": "the message is not compressed as SAML requires (DEFLATE)",
    "malformed": "the message is not well-formed XML",
    "dtd": "the message has a DTD, which SAML never needs",
    "mixed_content": "a value holds a comment or markup (a known attack)",
    "binding": "sent in a way the portal does not take",
    "relay_state": "RelayState too long",
    "bad_time": "a date in the message is not valid",
    "future": "dated in the future (the site's clock is wrong)",
    "too_old": "the request is too old",
    "destination": "sent to another address than the portal's",
    "issuer": "the message does not say it comes from the site",
    "wrong_message": "not the kind of SAML message expected",
    "version": "not SAML 2.0",
    "bad_id": "the message has no valid ID",
    "subject": "names the member in advance, which the portal does not support",
    "acs": "asks for an answer the portal does not give",
    "unregistered_acs": "asks for the answer at an address not registered for the site",
    "bad_boolean": "a true/false value is neither",
    "unsigned": "not signed, and the site's requests must be",
    "bad_signature": "the signature does not match the site's certificates",
    "signature_wrapping": "the signature does not cover the message (a known attack)",
    "signature_algorithm": "signed with an algorithm the portal does not accept",
    "encrypted_id": "an encrypted NameID, which the portal does not support",
    "vendor": "the request does not come from the site it names",
    "invalid_nameid_policy": "asked for a kind of member identifier the site may not have",
    "no_authn_context": "asked for a kind of sign-in the portal does not offer (such as a "
    "smartcard)",
    "bad_comparison": "asked for a kind of sign-in in a way SAML does not define",
    "too_large_to_continue": "too large to carry through the sign-in page",
    "no_encryption_certificate": "the site asks for encryption but has no encryption certificate",
    "in_response_to": "the answer is not to the sign-out request the portal sent",
    "unexpected_response": "a sign-out answer arrived while no sign-out was waiting for one",
    "no_sign_out": "no sign-out was under way in the browser",
    "not_signed_out": "the site answered that it could not sign the member out",
    "no_answer": "the member's browser came back without the site's answer",
    "no_logout_service": "the site is off, or its SAML metadata no longer has a sign-out address",
    "no_nameid": "the member has no value for the identifier the site is sent",
    "idp_initiated_off": "the site is not opened from My sites (signing in from the portal is off)",
    "outside_domains": "an address in the site's metadata is not on its registered domains",
}

# The reason kept in an event's details, in words.
REASONS: dict[str, str] = {
    "login_required": "member not signed in (the normal answer)",
    reasons.WRONG_PASSWORD: "wrong password",
    "wrong_code": "wrong or already used two-factor code",
    reasons.UNKNOWN_USER: "no account with that name",
    reasons.DISABLED: "account or vendor disabled",
    reasons.THROTTLED: "held back after too many failed attempts",
    reasons.DIRECTORY_UNAVAILABLE: "iMIS did not answer",
    reasons.EXPIRED: "token expired before it was redeemed",
    reasons.VOIDED: "the member's session ended before the vendor redeemed it",
    reasons.UNKNOWN: "not a token the portal issued",
    reasons.OTHER_VENDOR: "token issued for another vendor",
    reasons.REPLAY: "token already redeemed",
    reasons.MEMBER_DISABLED: "member is disabled",
    reasons.INVALID_REQUEST: "malformed request",
    reasons.WRONG_SECRET: "wrong API secret",
    reasons.NO_CREDENTIALS: "no vendor key and secret sent",
    reasons.UNKNOWN_VENDOR: "unknown or disabled vendor",
    "wrong_protocol": "the vendor is set up for OpenID Connect, not Enhanced SSO",
    "return_url": "return address not on the vendor's domains",
    "state": "state value too long or not plain text",
    "passive": "passive value not 1, true, 0 or false",
    "repeated": "a parameter given twice",
    "too_many_requests": "too many requests",
    reasons.REDIRECT_URI: "return address not registered for the vendor",
    reasons.PKCE: "missing or wrong PKCE proof (the code was not sent by whoever asked for it)",
    reasons.INVALID_SCOPE: "asked for information the vendor may not have",
    "response_type": "asked for a kind of answer the portal does not give",
    "mode": "asked for an answer by an unknown way",
    "request": "sent a signed request, which the portal does not take",
    "request_uri": "sent a request by reference, which the portal does not take",
    "prompt": "prompt value not understood",
    "max_age": "max_age value not a number of seconds",
    "nonce": "nonce too long or not plain text",
    "login_hint": "login hint too long or not plain text",
    "no_response_type": "did not say what kind of answer it wants (no response_type)",
    "select_account": "asked the member to choose an account, which the portal does not offer",
    "id_token_hint": "sent an ID token (id_token_hint) the portal did not issue",
    "other_member": "the ID token it sent names another member than the one signed in",
    "access_denied": "the member chose not to continue",
    "no_hint": "sent no ID token to show the request came from the member's own sign-in",
    "other_session": "the ID token it sent is from another sign-in",
    reasons.REUSE: "renewal token already used",
    "imis_status": "iMIS gives the member a status that disables them in the portal",
    reasons.REVOKED: "access already withdrawn (a sign-out, staff, a disabling, the vendor, or "
    "a reuse)",
    reasons.REFRESH_OFF: "the vendor may no longer keep members signed in (refresh tokens are off)",
    reasons.SESSION_ENDED: "the member's portal session ended first",
    "absolute_timeout": "reached its maximum length",
    "idle_timeout": "idle too long",
    "imis_member": "the member signs in with iMIS, which resets passwords itself",
    "no_email": "the member has no email address",
    "smtp_failed": "the mail server did not take it, after every retry",
    "refused": "the vendor's sign-out notification address answered with an error",
    "gave_up": "the vendor's sign-out notification address did not answer, even after retries",
    "not_public": "the vendor's sign-out notification address leads inside a private network",
    "too_late": "not sent: the portal was not sending these in time",
    "unreadable": "the portal's secret key could not open the key in use",
    **SAML_REASONS,
    **access_rules.REASONS,
    "rule_changed": "the site's access rule changed as the member was let in",
}

# Failures that are the system working as meant: nothing to act on.
EXPECTED: frozenset[tuple[str, str | None]] = frozenset(
    {
        ("sso.passive", "login_required"),
        ("saml.passive", "login_required"),
        ("oidc.login_required", "login_required"),
        ("oidc.token_rejected", reasons.SESSION_ENDED),
        ("oidc.login_required", "other_member"),
        ("oidc.rejected", "access_denied"),
        ("oidc.logout_asked", "no_hint"),
        ("oidc.logout_asked", "other_session"),
        ("oidc.logout_asked", "id_token_hint"),
        ("oidc.userinfo_rejected", reasons.EXPIRED),
        ("oidc.userinfo_rejected", reasons.SESSION_ENDED),
        ("oidc.userinfo_rejected", reasons.REVOKED),
        ("oidc.userinfo_rejected", reasons.MEMBER_DISABLED),
        ("token.rejected", reasons.VOIDED),
        ("token.rejected", reasons.MEMBER_DISABLED),
        # A site for some members only refusing the others is the rule working.
        *(("access.refused", reason) for reason in (*access_rules.REASONS, "rule_changed")),
    }
)
INTEGRATION = "Send the vendor's developers its Integration tab and ask them to check their set-up."
# Failures staff should act on, with what to do; None as the reason matches any reason.
ADVICE: dict[tuple[str, str | None], str] = {
    ("vendor.auth", reasons.WRONG_SECRET): "The vendor uses a wrong or revoked API secret. Create "
    "a new secret on its Secrets tab and give it to the vendor's developers.",
    ("vendor.auth", reasons.DISABLED): "The vendor is disabled but still calls the portal. Enable "
    "it, or ask its developers to stop.",
    ("vendor.auth", None): INTEGRATION,
    ("return_url.rejected", None): "If the address belongs to the vendor, add its domain on the "
    "vendor's Settings tab; otherwise ask the vendor's developers which address they send.",
    ("sso.rejected", reasons.UNKNOWN_VENDOR): "The vendor is disabled while members still use its "
    "sign-in link. Enable it if members should reach it.",
    ("sso.rejected", None): INTEGRATION,
    ("token.replay", None): "A token was used twice, which can mean it leaked; the member's "
    "session was ended. Ask the vendor's developers to check how they handle tokens.",
    ("token.rejected", reasons.EXPIRED): "The vendor redeemed the token too late. Ask its "
    "developers to redeem it as soon as it arrives, and to check their server's clock.",
    ("token.rejected", None): INTEGRATION,
    ("oidc.code_replay", None): "A sign-in code was used twice, which can mean it leaked; what it "
    "gave the vendor was withdrawn (the member stays signed in elsewhere). Ask the vendor's "
    "developers to check how they handle sign-in codes.",
    ("oidc.refresh_reuse", None): "A renewal (refresh) token was used twice, which can mean it "
    "leaked; the vendor's access for that sign-in was withdrawn and the member signs in again "
    "there. Ask the vendor's developers to check how they store refresh tokens.",
    ("oidc.client_auth", reasons.WRONG_SECRET): "The vendor uses a wrong or revoked secret. Create "
    "a new secret on its Secrets tab and give it to the vendor's developers.",
    ("oidc.client_auth", reasons.DISABLED): "The vendor is disabled but still calls the portal. "
    "Enable it, or ask its developers to stop.",
    ("oidc.client_auth", None): INTEGRATION,
    ("oidc.rejected", reasons.REDIRECT_URI): "If the address belongs to the vendor, add it to the "
    "vendor's redirect URIs exactly as sent; otherwise ask its developers which one they use.",
    ("oidc.rejected", reasons.UNKNOWN_VENDOR): "The vendor is disabled, or not set up for OpenID "
    "Connect, while members still use its sign-in link.",
    ("oidc.rejected", None): INTEGRATION,
    ("saml.refused", reasons.UNKNOWN_VENDOR): "The site is disabled, not set up for SAML, or its "
    "entityID is not the one registered, while members still use its sign-in link. Check the "
    "entityID on its Settings tab, or import its metadata again.",
    ("saml.refused", "unregistered_acs"): "The site asked for the answer at an address its "
    "registered metadata does not list. Import its metadata again if it changed; otherwise ask "
    "its developers which address they use.",
    ("saml.refused", "bad_signature"): "The site's requests are signed with a key its registered "
    "metadata does not hold: it may have changed its certificate. Import its metadata again.",
    ("saml.refused", "idp_initiated_off"): "A member tried to open the site from the portal, "
    "which its settings do not allow (an old My sites page, or a form on another site). Turn "
    "on opening it from My sites under How members sign in only if its developers say their "
    "software accepts such sign-ins.",
    ("saml.refused", "outside_domains"): "The site's registered metadata names an address off "
    "its domains (saved before the portal checked that, or a domain was removed since). Add the "
    "domain if it is the site's, or import metadata with addresses on its own domains.",
    ("saml.refused", None): INTEGRATION,
    ("saml.logout_refused", None): INTEGRATION,
    ("oidc.token_rejected", reasons.EXPIRED): "The vendor collected the sign-in too late. Ask its "
    "developers to exchange the code as soon as it arrives, and to check their server's clock.",
    ("oidc.token_rejected", None): INTEGRATION,
    ("oidc.userinfo_rejected", None): INTEGRATION,
    ("api.rate_limited", None): "The vendor calls the portal (its user service, or the OpenID "
    "Connect token and UserInfo endpoints) more often than allowed, or one network sent many "
    "refused calls. Ask the vendor's developers to slow down.",
    ("sign_in", reasons.DIRECTORY_UNAVAILABLE): "The portal could not reach iMIS, so members from "
    "iMIS could not sign in. Check that iMIS is up and the portal's iMIS settings.",
    (
        "staff.sign_in",
        reasons.DIRECTORY_UNAVAILABLE,
    ): "The portal could not check the staff account. Contact your operator.",
    ("staff.second_factor", "wrong_code"): "The staff member's password was given, but not the "
    "code from their phone. If it was not them, someone knows their password: ask them to "
    "change it on Your account.",
    ("password.reset_requested", "no_email"): "A member asked for a password link but has no "
    "email address. Add one on the member's page, then ask them to try again.",
    ("mail.failed", None): "The portal tried for about four hours to hand this email to the mail "
    "server. Ask your operator to check the mail settings (PORTAL_SMTP_URL), then send the "
    "link or invitation again.",
    ("mail.failed", "too_late"): "The portal was not sending email (no mail server set, or "
    "stopped) for four hours after this email was written, and an email that late is not sent. "
    "Ask your operator to check the mail settings (PORTAL_SMTP_URL), then send the link or "
    "invitation again.",
    ("logout.notified", "not_public"): "The member may still be signed in at this vendor's site. "
    "The name in its sign-out notification address now leads to a private or local network "
    "address, which the portal never calls (it could reach computers inside your network). Ask "
    "the vendor's developers to point that name at their public server.",
    ("logout.notified", "too_late"): "The member may still be signed in at this vendor's site. "
    "The portal was not sending sign-out notices (or was stopped) when the member signed out, and "
    "a notice that late is not sent. If the overview says notices are off, ask your operator to "
    "turn them on.",
    ("logout.notified", None): "The member may still be signed in at this vendor's site. Check "
    "the vendor's sign-out notification address on its Settings tab, and ask its developers to "
    "check that the address answers (the vendor's page lists its recent sign-out notices).",
    ("saml.logout_notified", "not_public"): "The member may still be signed in at this "
    "vendor's site. The SOAP sign-out address in its SAML metadata now leads to a private or "
    "local network address, which the portal never calls. Ask the vendor's developers to point "
    "it at their public server, then import their metadata again.",
    ("saml.logout_notified", "too_late"): "The member may still be signed in at this vendor's "
    "site. The portal was not sending sign-out notices (or was stopped) when the member signed "
    "out, and a notice that late is not sent. If the overview says notices are off, ask your "
    "operator to turn them on.",
    ("saml.logout_notified", None): "The member may still be signed in at this vendor's site. "
    "Ask its developers to check the SOAP SingleLogoutService in their SAML metadata (the "
    "vendor's page lists its recent sign-out notices, with its last answer); import their "
    "metadata again if it changed.",
    ("saml.logout_through_browser", None): "The member may still be signed in at this vendor's "
    "site: the portal sent their browser there with a sign-out request, and the site did not "
    "answer that it signed them out (the reason says why). Ask the vendor's developers to check "
    "their SAML single logout: they must answer with a LogoutResponse signed with a certificate "
    "in their metadata; import their metadata again if it changed.",
    ("audit.suppressed", None): "Many refused requests came from one network within a minute. "
    "Look at the events just before this one; contact your operator if it goes on.",
}


@dataclass(frozen=True)
class Described:
    """An event as staff read it. `kind`: success, expected (a failure that is the normal
    answer), failure (it failed; nothing to fix) or problem (act on it: `advice` says how)."""

    summary: str
    reason: str | None
    kind: Kind
    advice: str | None

    @property
    def outcome(self) -> str:
        return {"success": "Success", "expected": "Expected"}.get(self.kind, "Failure")


def event_words(event: str, vendor: str | None = None, *, failed: bool = False) -> str:
    """`token.redeemed` by Acme Learning -> "Token redeemed by Acme Learning"."""
    words = (FAILED_WORDS.get(event) if failed else None) or WORDS.get(event)
    if words is None:
        return event.replace(".", ": ").replace("_", " ").capitalize()
    if VENDOR in words:
        words = words.replace(VENDOR, vendor or "an unknown vendor")
    return words[0].upper() + words[1:]


def reason_words(reason: str | None) -> str | None:
    if not reason:
        return None
    return REASONS.get(reason, reason.replace("_", " "))


def kind_of(event: str, outcome: str, reason: str | None) -> Kind:
    if outcome == "success":
        return "success"
    if (event, reason) in EXPECTED:
        return "expected"
    return "problem" if advice_for(event, reason) else "failure"


def names_a_vendor(event: str) -> bool:
    """An event about a vendor: one without its vendor came from someone using a made-up key."""
    return VENDOR in WORDS.get(event, "")


def is_problem(event: str, outcome: str, reason: str | None) -> bool:
    return kind_of(event, outcome, reason) == "problem"


def advice_for(event: str, reason: str | None) -> str | None:
    return ADVICE.get((event, reason)) or ADVICE.get((event, None))


def describe(
    event: str, outcome: str, details: Mapping[str, Any] | None, vendor: str | None
) -> Described:
    """One event in words, with `vendor` the vendor's name (or its key if it has none)."""
    reason = (details or {}).get("reason")
    reason = reason if isinstance(reason, str) else None
    kind = kind_of(event, outcome, reason)
    return Described(
        summary=event_words(event, vendor, failed=outcome == "failure"),
        reason=reason_words(reason),
        kind=kind,
        advice=advice_for(event, reason) if kind == "problem" else None,
    )

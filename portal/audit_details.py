"""An audit event's details as staff read them: the label of each key the dashboard records,
a value in words, what a change changed (before and after), and the details shown beside it.
What the event itself means is portal/audit_events.py."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from portal import catalogue, vendor_rules

# Names of what changes and of other details, for the keys the dashboard records.
DETAIL_LABELS: dict[str, str] = {
    "name": "Name",
    "token_url": "Token URL",
    "signout_url": "Sign-out page",
    "start_url": "Sign-in start page",
    "my_sites": "On members' My sites",
    "protocol": "How members sign in",
    "redirect_uris": "Sign-in return addresses",
    "post_logout_uris": "After-sign-out addresses",
    "public_client": "App in the browser (no secret)",
    "scopes": "What the site may ask for",
    "refresh_tokens": "Members kept signed in for longer",
    "pairwise_subject": "An identifier for each member only this site gets",
    "omit_iss": "The portal's name (iss) left out of sign-in answers",
    "id_token_signed_response_alg": "Sign-in tokens signed with",
    "saml_entity_id": "The site's SAML entityID",
    "saml_metadata_digest": "The site's SAML metadata",
    "saml_metadata_url": "Where the SAML metadata was read from",
    "saml_nameid_format": "What identifies the member (SAML NameID)",
    "saml_encrypt_assertions": "SAML sign-ins encrypted",
    "saml_cipher": "SAML encryption",
    "saml_sign_response": "Whole SAML answer signed",
    "saml_attribute_name_format": "SAML attribute names",
    "saml_idp_initiated": "Members open the SAML site from My sites",
    "saml_relay_state": "Where the SAML site shows them first",
    "from_my_sites": "Opened from My sites",
    "domains": "Domains",
    "domain": "Domain",
    "fields": "Fields sent",
    "enabled": "Enabled",
    "access": "Who may use the site",
    "role": "Role",
    "email": "Email",
    "staff": "Staff account",
    "session": "Session",
    "ended": "Sessions ended",
    "sessions_ended": "Sessions ended",
    "links_voided": "Password links voided",
    "grants_revoked": "Sign-ins at OpenID Connect sites withdrawn",
    "via": "Made with",
    "scope": "Scopes",
    "response_mode": "Answered by",
    "not_granted": "Asked for, not given",
    "consented": "Member agreed on the consent page",
    "grant_type": "Grant",
    "cause": "Technical cause",
    "kind": "Session of",
    "bucket": "Limit",
    "claimed_key": "Vendor key given",
    "first_suppressed": "First event not logged",
    "per_minute": "Events logged per minute",
    "filters": "Filters",
    "member_status": "Member status",
    "member_type": "Member type",
    "imis_id": "iMIS ID",
    "kids": "Keys (kid)",
    "signs_from": "Signs from",
    "at_once": "At once (a compromised key)",
    "withdrawn": "Keys withdrawn",
    "replaced_by": "Replaced by key",
    "pairwise": "Key of members' own identifiers at sites re-encrypted too",
    "method": "Proved with",
    "already_revoked": "Already withdrawn before",
    "second_factor": "Two-factor code",
    "recovery_codes_left": "Recovery codes left",
    "was_on": "Two-factor was on",
    "purpose": "Email about",
    "attempts": "Attempts",
    "status": "The vendor's answer (HTTP status)",
    "problem": "What went wrong",
    "backchannel_logout_url": "Sign-out notification address",
    "frontchannel_logout_url": "Sign-out page address",
}
METHODS = {
    "app": "code from the phone app",
    "recovery_code": "recovery code",
    "client_secret_basic": "the site's secret (HTTP Basic)",
    "client_secret_post": "the site's secret (in the form)",
    "none": "no secret (an app in the browser, with PKCE)",
}
# What made a change nobody made in the dashboard (the `via` detail).
VIA = {"cli": "the command line", "csv": "a CSV file", "imis": "iMIS"}
SHOWN_APART = ("changes", "reason")


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


def field_label(key: str) -> str:
    """A recorded key as staff read it: a member column by its catalogue label."""
    if key in DETAIL_LABELS:
        return DETAIL_LABELS[key]
    return catalogue.column_label(key)


def value_words(key: str, value: Any) -> str:
    """A recorded value in words; empty is "" (the page shows a dash)."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if key == "fields" and isinstance(value, list):
        return ", ".join(_returned_field(str(item)) for item in value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{field_label(k)}: {value_words(k, v)}" for k, v in value.items())
    if key == "method":
        return METHODS.get(str(value), str(value))
    if key == "via":
        return VIA.get(str(value), str(value))
    if key == "my_sites":
        return vendor_rules.MY_SITES_CHOICES.get(str(value), str(value))
    if key == "second_factor" and value == "due":
        return "asked for next"
    if key == "member_type":
        return catalogue.code_meaning(str(value), catalogue.MEMBER_TYPES) or ""
    if key == "member_status":
        return catalogue.code_meaning(str(value), catalogue.MEMBER_STATUSES) or ""
    if key in ("join_date", "paid_through") and isinstance(value, str):
        return _day(value)
    return str(value)


def _returned_field(spec: str) -> str:
    """`Email=email_address` (as vendor.fields_changed records it) -> "Email (sent as …)"."""
    name, _, output = spec.partition("=")
    shown = catalogue.label(name)
    return f"{shown} (sent as {output})" if output else shown


def _day(iso: str) -> str:
    try:
        return date.fromisoformat(iso).strftime("%-d %b %Y")
    except ValueError:
        return iso


def changes(details: Mapping[str, Any] | None) -> list[Change]:
    """The before → after rows of a change (audit.changes recorded them), in recorded order."""
    recorded = (details or {}).get("changes")
    if not isinstance(recorded, dict):
        return []
    rows = []
    for key, pair in recorded.items():
        if isinstance(pair, dict):
            before, after = pair.get("before"), pair.get("after")
            rows.append(Change(field_label(key), value_words(key, before), value_words(key, after)))
    return rows


def other_details(details: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Everything else recorded with the event, as (label, words)."""
    return [
        (field_label(key), value_words(key, value))
        for key, value in (details or {}).items()
        if key not in SHOWN_APART
    ]


def in_words(details: Mapping[str, Any] | None) -> str:
    """All the details on one line (the CSV export's "Details in words"): changes, then the rest."""
    shown = [f"{c.label}: {c.before or '—'} → {c.after or '—'}" for c in changes(details)]
    shown += [f"{label}: {words or '—'}" for label, words in other_details(details)]
    return "; ".join(shown)

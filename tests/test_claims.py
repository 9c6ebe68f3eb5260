"""portal/claims.py: the returned fields as OpenID Connect claims, by scope."""

from datetime import date
from types import SimpleNamespace

from portal import claims
from portal.catalogue import CATALOGUE, MEMBER_COLUMNS
from portal.good_standing import Terms

ADA = SimpleNamespace(
    **{
        **dict.fromkeys(MEMBER_COLUMNS.values()),
        "imis_id": "101", "first_name": "Ada", "last_name": "Lovelace",
        "email": "ada@example.org", "city": "London", "member_status": "A",
        "paid_through": date(2030, 12, 31),
    }
)  # fmt: skip
TODAY = Terms(date(2026, 12, 2))


def test_every_catalogue_field_has_a_claim() -> None:
    assert {claim.field for claim in claims.CLAIMS} == set(CATALOGUE)


def test_claims_need_both_the_field_and_the_scope() -> None:
    fields = ["ImisId", "FirstName", "Email", "City", "IsMember"]
    found = claims.member_claims(ADA, fields, ["openid", "profile", "address"], TODAY)
    assert found == {"given_name": "Ada", "address": {"locality": "London"}}
    everything = claims.member_claims(ADA, fields, claims.SCOPES, TODAY)
    assert everything == {
        "given_name": "Ada",
        "email": "ada@example.org",
        "email_verified": False,
        "address": {"locality": "London"},
        "imis_id": "101",
        "is_member": True,
    }


def test_the_preview_lists_claims_by_scope() -> None:
    assert claims.claims_by_scope(["ImisId", "LastName", "PostalCode"]) == {
        "openid": ["sub"],
        "membership": ["imis_id"],
        "profile": ["family_name"],
        "address": ["address.postal_code"],
    }


def test_scopes_are_split_once_each_in_order() -> None:
    assert claims.parse_scope(" openid  email openid profile ") == ["openid", "email", "profile"]

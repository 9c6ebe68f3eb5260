import pytest

from portal import members, vendor_rules
from portal.errors import InvalidField

GOOD = {"imis_id": "101", "username": "ada"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"paid_through": "20x4-01-01"},
            "paid_through",
            "Paid through must be a date written as YYYY-MM-DD, e.g. 2026-12-31.",
        ),
        ({"username": ""}, "username", "Username is required."),
        ({"imis_id": "1 2"}, "imis_id", "iMIS ID may use only letters, digits and . _ -"),
        ({"first_name": "x" * 201}, "first_name", "First name must be at most 200 characters."),
        ({"email": "ada"}, "email", "Email must be an email address, such as name@example.org."),
    ],
)
def test_member_fields_are_refused_in_sentences(
    change: dict[str, str], field: str, message: str
) -> None:
    with pytest.raises(InvalidField) as refused:
        members.parse_member({**GOOD, **change})
    assert (refused.value.field, str(refused.value)) == (field, message)
    assert "Input should" not in message


def test_vendor_urls_and_domains_are_refused_in_sentences() -> None:
    for check, field, message in [
        (lambda: vendor_rules.check_token_url("http://a.com/t", development=False), "token_url",
         "The token URL must use https."),
        (lambda: vendor_rules.check_signout_url("https://evil.com/", ["a.com"], development=False),
         "signout_url", "The sign-out URL must be on one of this vendor's domains."),
        (lambda: vendor_rules.check_domains(["a b"], development=False), "domain",
         "The domain must be a valid domain name"),
        (lambda: vendor_rules.check_domains(["co.uk"], development=False), "domain",
         "co.uk is a public suffix shared by unrelated sites"),
    ]:  # fmt: skip
        with pytest.raises(InvalidField) as refused:
            check()
        assert refused.value.field == field and str(refused.value).startswith(message)

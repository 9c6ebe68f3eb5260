"""Messages staff read on the vendor forms are in their words, not a developer's (issue 26)."""

from collections.abc import Callable

import pytest

from portal import vendor_rules
from portal.errors import InvalidField


@pytest.mark.parametrize("typed", ["https://learning.example.org/", "learning.example.org/x"])
def test_a_domain_typed_as_an_address_says_what_to_type(typed: str) -> None:
    with pytest.raises(InvalidField) as caught:
        vendor_rules.check_domains([typed], development=False)
    assert str(caught.value) == (
        "Type just the domain, like learning.example.org (no https://, port or path)."
    )


@pytest.mark.parametrize(
    ("check", "shown"),
    [
        (vendor_rules.check_signout_url, "sign-out URL"),
        (vendor_rules.check_start_url, "sign-in start page"),
    ],
)
def test_an_address_off_the_vendors_domains_says_so_plainly(
    check: Callable[..., str | None], shown: str
) -> None:
    with pytest.raises(InvalidField) as caught:
        check("https://elsewhere.example.net/x", ["acme-learning.com"], development=False)
    message = str(caught.value)
    assert message == f"The {shown} must be on one of this vendor's domains."
    assert "ReturnURL" not in message and "registered" not in message

"""A SAML site's certificates on the dashboard: each one's date on the vendor page, and a warning
in plain words — on the vendor page, the vendor list and the overview — when one expires within
30 days or has expired. Metadata with an expired certificate is still accepted, and warned of at
once."""

from datetime import timedelta

import pytest

from tests.admin.browser import Browser, text
from tests.conftest import FakeClock
from tests.flows import add_vendor
from tests.saml import sp

URL = "/admin/vendors/acme/sign-in-method"
SAML = {
    "protocol": "saml",
    "saml_nameid_format": "persistent",
    "saml_cipher": "aes256-gcm",
    "saml_attribute_name_format": "uri",
}
ASK = "ask its developers for new metadata and paste it here"


async def register(admin: Browser, database_url: str, signing_days: int) -> None:
    """Acme Learning as a SAML site whose signing certificate ends `signing_days` from the test
    clock's now (negative: ended), its encryption certificate a year on."""
    now = FakeClock().current
    signing = sp.certificate_until(now + timedelta(days=signing_days))
    encryption = sp.certificate_until(now + timedelta(days=400))
    keys = sp.key_descriptor(signing, "signing") + sp.key_descriptor(encryption, "encryption")
    await add_vendor(database_url, domain="sp.example.com")
    answer = await admin.post(
        URL, {**SAML, "saml_metadata": sp.metadata(key_descriptors=keys).decode()}
    )
    assert answer.status_code == 303, await text(answer)  # accepted, expired or not


async def pages(admin: Browser) -> tuple[str, str, str]:
    """The vendor page, the vendor list and the overview, as text."""
    found = [
        await text(await admin.get(url))
        for url in ("/admin/vendors/acme", "/admin/vendors", "/admin/")
    ]
    return (
        found[0].replace("&#39;", "'"),
        found[1].replace("&#39;", "'"),
        found[2].replace("&#39;", "'"),
    )


@pytest.mark.parametrize(
    ("days", "valid_until", "warning"),
    [
        (10, "7 December 2026", f"Acme Learning's signing certificate expires on 7 December 2026: "
         f"{ASK} before then."),
        (-1, "26 November 2026", f"Acme Learning's signing certificate has expired "
         f"(26 November 2026): {ASK}."),
        (365, "27 November 2027", None),
    ],
)  # fmt: skip
async def test_a_certificate_near_its_end_is_warned_of_everywhere_staff_look(
    admin: Browser, database_url: str, days: int, valid_until: str, warning: str | None
) -> None:
    await register(admin, database_url, days)
    vendor_page, vendor_list, overview = await pages(admin)
    assert f"Signing certificate valid until {valid_until}" in vendor_page
    assert "Encryption certificate valid until 1 January 2028" in vendor_page
    for page in (vendor_page, vendor_list, overview):
        if warning is None:
            assert "certificate expires" not in page and "has expired" not in page
        else:
            assert warning in page
    # The encryption certificate, a year on, is no concern.
    assert "encryption certificate expires" not in vendor_page
    assert "encryption certificate has expired" not in vendor_page


async def test_a_disabled_site_is_not_on_the_overview(admin: Browser, database_url: str) -> None:
    await register(admin, database_url, 10)
    await admin.post("/admin/vendors/acme/disable")
    vendor_page, vendor_list, overview = await pages(admin)
    assert (
        "signing certificate expires" in vendor_page
        and "signing certificate expires" in vendor_list
    )
    assert "signing certificate expires" not in overview

"""The dashboard's sign-in method for SAML 2.0, reached only through the front end's registration:
staff paste a site's metadata, choose its NameID format and encryption; a new SAML vendor is
added from its pasted metadata; bad metadata comes back in words and saves nothing — metadata
with an address off the vendor's domains too, naming the address."""

import pytest
from sqlmodel import col, select

from portal import vendors
from portal.audit_models import AuditEvent
from portal.models import Vendor, VendorSecret
from portal.saml import names
from portal.saml.models import SamlServiceProvider
from portal.vendor_rules import FieldChoice
from tests.admin.browser import Browser, text
from tests.admin.test_vendor_views import added_through_the_form
from tests.flows import add_member, add_vendor, unit_of_work
from tests.saml import sp

URL = "/admin/vendors/acme/sign-in-method"
SP_DOMAIN = "sp.example.com"  # where the test SP's addresses are
SAML = {
    "protocol": "saml",
    "saml_metadata": sp.metadata().decode(),
    "saml_nameid_format": "email",
    "saml_cipher": "aes256-gcm",
    "saml_attribute_name_format": "uri",
}


ELSEWHERE_ACS = (
    f'<md:AssertionConsumerService Binding="{names.POST}" Location="{sp.ACS}" index="1"/>'
    f'<md:AssertionConsumerService Binding="{names.POST}" '
    'Location="https://collector.example.net/acs" index="2"/>'
)


async def providers(database_url: str) -> int:
    async with unit_of_work(database_url) as session:
        return len((await session.exec(select(SamlServiceProvider))).all())


async def secrets(database_url: str) -> int:
    async with unit_of_work(database_url) as session:
        return len((await session.exec(select(VendorSecret))).all())


async def provider(database_url: str) -> SamlServiceProvider | None:
    async with unit_of_work(database_url) as s:
        return (await s.exec(select(SamlServiceProvider))).first()


async def test_a_vendor_switches_to_saml_with_its_pasted_metadata(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url, domain=SP_DOMAIN)
    response = await admin.post(URL, [*SAML.items(), ("saml_encrypt_assertions", "on")])
    assert response.status_code == 303, await text(response)
    found = await provider(database_url)
    assert found is not None and found.entity_id == sp.ENTITY_ID
    assert (found.nameid_format, found.encrypt_assertions) == ("email", True)
    async with unit_of_work(database_url) as s:
        vendor = (await s.exec(select(Vendor))).one()
        query = select(AuditEvent).where(col(AuditEvent.event) == "vendor.updated")
        [event] = list(await s.exec(query))
    assert vendor.protocol == "saml"
    changes = event.details["changes"]
    assert changes["protocol"] == {"before": "enhanced", "after": "saml"}
    assert "saml_metadata" not in changes  # the entityID says which metadata, not the XML
    await add_member(database_url)
    page = await text(await admin.get("/admin/vendors/acme"))
    assert sp.ENTITY_ID in page and "/saml/metadata" in page  # settings and Integration tab
    assert "SAML 2.0: the assertion&#39;s attributes (what it uses)" in page  # the preview
    assert "urn:oid:0.9.2342.19200300.100.1.3" in page  # the member's email, by its standard name
    assert 'href="#tab-secrets"' in page  # its Enhanced SSO secret is still active: to revoke

    # Saved again without pasting: the metadata stays, a choice changes.
    response = await admin.post(
        URL, {**SAML, "saml_metadata": "", "saml_nameid_format": "persistent"}
    )
    assert response.status_code == 303, await text(response)
    found = await provider(database_url)
    assert found is not None and found.entity_id == sp.ENTITY_ID
    assert (found.nameid_format, found.encrypt_assertions) == ("persistent", False)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"saml_metadata": ""}, "Paste the site&#39;s SAML metadata"),
        ({"saml_metadata": "<not-xml"}, "not well-formed XML"),
        ({"saml_metadata": '<!DOCTYPE x [<!ENTITY e "e">]><x/>'}, "DTD"),
        ({"saml_nameid_format": "opaque"}, "Choose persistent, email or unspecified"),
    ],
)
async def test_bad_saml_settings_come_back_in_words_and_save_nothing(
    admin: Browser, database_url: str, change: dict[str, str], reason: str
) -> None:
    await add_vendor(database_url, domain=SP_DOMAIN)
    response = await admin.post(URL, {**SAML, **change}, htmx=True)
    assert reason in await text(response)
    assert await provider(database_url) is None


async def test_a_new_saml_vendor_is_added_from_its_metadata(
    admin: Browser, database_url: str
) -> None:
    new = {
        "key": "lms",
        "name": "Learning Hub",
        "protocol": "saml",
        "domain": "sp.example.com",
        "token_url": "",
        "signout_url": "",
        "saml_metadata": sp.metadata().decode(),
    }
    response = await added_through_the_form(admin, new)
    page = await text(response)
    assert response.status_code == 200, page
    found = await provider(database_url)
    assert found is not None and found.entity_id == sp.ENTITY_ID
    # An SP proves itself with its metadata's keys: no API secret, made, shown or offered.
    assert "Give its developers the Integration tab" in page
    assert "tab-secrets" not in page and "Copy this secret now" not in page
    assert await secrets(database_url) == 0
    refused = await admin.post("/admin/vendors/lms/secrets", {}, htmx=True)
    assert refused.status_code == 422
    assert "Learning Hub signs in with SAML 2.0, which uses no API secret" in await text(refused)
    assert await secrets(database_url) == 0


@pytest.mark.parametrize(
    ("metadata", "words"),
    [
        # The test SP's addresses are all on sp.example.com; the vendor only on acme-learning.com.
        (sp.metadata(), "AssertionConsumerService https://sp.example.com/saml/acs cannot be "
         "used: it is not on acme-learning.com"),
        (sp.metadata(consumers=ELSEWHERE_ACS), "https://collector.example.net/acs"),
        (sp.metadata(logout_services=f'<md:SingleLogoutService Binding="{names.SOAP}" '
         'Location="https://sp.example.com.evil.example/soap"/>'),
         "SingleLogoutService https://sp.example.com.evil.example/soap"),
        (sp.metadata(consumers=f'<md:AssertionConsumerService Binding="{names.POST}" '
         'Location="http://acme-learning.com/acs" index="1"/>'), "must use https"),
    ],
)  # fmt: skip
async def test_the_dashboard_refuses_metadata_with_an_address_off_the_vendors_domains(
    admin: Browser, database_url: str, metadata: bytes, words: str
) -> None:
    await add_vendor(database_url)  # on acme-learning.com
    if "acme-learning.com" not in words:  # the test SP's own domain too: one address is off it
        await admin.post("/admin/vendors/acme/domains", {"domain": "sp.example.com"})
    answer = await admin.post(
        URL,
        {**SAML, "saml_metadata": metadata.decode()},
        htmx=True,
    )
    assert answer.status_code == 422
    assert words in (await text(answer)).replace("&#39;", "'")
    assert await providers(database_url) == 0


async def test_add_a_vendor_refuses_metadata_off_the_domain_given(
    admin: Browser, database_url: str
) -> None:
    new = {
        "key": "lms",
        "name": "Learning Hub",
        "protocol": "saml",
        "domain": "learning-hub.example.org",
        "signout_url": "",
        "saml_metadata": sp.metadata().decode(),
    }
    answer = await admin.post("/admin/vendors", new)
    assert answer.status_code == 422
    page = await text(answer)
    assert "https://sp.example.com/saml/acs" in page and "learning-hub.example.org" in page
    new["domain"] = "sp.example.com"
    answer = await admin.post("/admin/vendors", new)
    assert answer.status_code == 303, await text(answer)


async def test_signing_in_from_my_sites_is_set_in_the_dashboard_and_audited(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url, domain="sp.example.com")
    assert (await admin.post(URL, SAML)).status_code == 303
    found = await provider(database_url)
    assert found is not None and (found.idp_initiated, found.idp_initiated_relay_state) == (
        False,
        None,
    )  # off by default
    page = await text(await admin.get("/admin/vendors/acme"))
    assert 'name="saml_idp_initiated"' in page and 'name="saml_relay_state"' in page

    landing = "https://sp.example.com/courses/42"
    on = {**SAML, "saml_metadata": "", "saml_idp_initiated": "on", "saml_relay_state": landing}
    response = await admin.post(URL, on)
    assert response.status_code == 303, await text(response)
    found = await provider(database_url)
    assert found is not None and (found.idp_initiated, found.idp_initiated_relay_state) == (
        True,
        landing,
    )
    async with unit_of_work(database_url) as s:
        query = select(AuditEvent).where(col(AuditEvent.event) == "vendor.updated")
        events = list(await s.exec(query.order_by(col(AuditEvent.id))))
    changes = events[-1].details["changes"]
    assert changes["saml_idp_initiated"] == {"before": False, "after": True}
    assert changes["saml_relay_state"] == {"before": None, "after": landing}
    audit_page = await text(await admin.get(f"/admin/audit/{events[-1].id}"))
    assert "Members open the SAML site from My sites" in audit_page  # before → after, in words


@pytest.mark.parametrize(
    ("relay_state", "reason"),
    [
        ("https://elsewhere.example.net/x", "must be on one of this vendor&#39;s domains"),
        ("x" * 1025, "longer than 1024 bytes"),
        ("/a\tb", "on one line"),
    ],
)
async def test_a_landing_page_the_portal_cannot_use_comes_back_in_words(
    admin: Browser, database_url: str, relay_state: str, reason: str
) -> None:
    await add_vendor(database_url, domain="sp.example.com")
    assert (await admin.post(URL, SAML)).status_code == 303
    change = {"saml_metadata": "", "saml_idp_initiated": "on", "saml_relay_state": relay_state}
    response = await admin.post(URL, {**SAML, **change}, htmx=True)
    assert reason in await text(response)
    found = await provider(database_url)
    assert found is not None and found.idp_initiated is False


async def test_the_attribute_preview_shows_edu_person_affiliation_with_is_member(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url, domain="sp.example.com")
    assert (await admin.post(URL, SAML)).status_code == 303
    async with unit_of_work(database_url) as s:
        vendor = (await s.exec(select(Vendor))).one()
        await vendors.replace_fields(s, vendor, [FieldChoice("Email"), FieldChoice("IsMember")])
    await add_member(database_url)
    page = await text(await admin.get("/admin/vendors/acme"))
    preview = page[page.index('id="preview-saml-attributes"') :]
    preview = preview[: preview.index("</pre>")]
    assert "urn:oid:1.3.6.1.4.1.5923.1.1.1.1" in preview and "member" in preview, preview
    assert "eduPersonAffiliation too" in page

import json

from quart import Response
from sqlmodel import col, select

from portal import vendor_secrets
from portal.audit_models import AuditEvent
from portal.crypto import digest
from portal.models import Vendor, VendorDomain
from tests.admin.browser import Browser, cookie, text
from tests.flows import add_vendor, unit_of_work

NEW = {
    "key": "careerhub",
    "name": "CareerHub Jobs",
    "domain": "careerhub.io",
    "token_url": "https://careerhub.io/sso/token",
    "signout_url": "https://www.careerhub.io/bye",
}


async def added_through_the_form(admin: Browser, form: dict[str, str]) -> Response:
    """ "Add vendor": its redirect (post/redirect/get), followed to the page that shows the
    secret once."""
    response = await admin.post("/admin/vendors", form)
    assert response.status_code == 303, await text(response)
    return await admin.get(response.headers["Location"])


async def audit_events(database_url: str, name: str) -> list[AuditEvent]:
    async with unit_of_work(database_url) as s:
        query = select(AuditEvent).where(col(AuditEvent.event) == name).order_by(col(AuditEvent.id))
        return list(await s.exec(query))


async def test_the_list_shows_each_vendor_with_status_and_domains(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    body = await text(await admin.get("/admin/vendors"))
    assert "Acme Learning" in body and "acme-learning.com" in body and "Enabled" in body
    assert "Never" in body  # no activity yet


async def test_creating_a_vendor_shows_its_secret_once(admin: Browser, database_url: str) -> None:
    """Post/redirect/get (issue 26, item 3): the form's answer is a redirect to a page that shows
    the secret once; reloading that page re-sends nothing and says the secret was shown."""
    response = await admin.post("/admin/vendors", NEW)
    assert response.status_code == 303
    reveal = response.headers["Location"]
    assert reveal == "/admin/vendors/careerhub/added"  # the secret is never in the URL
    shown = await admin.get(reveal)
    body = await text(shown)
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    assert "Copy this secret now" in body
    async with unit_of_work(database_url) as s:
        vendor = (await s.exec(select(Vendor))).one()
        domains = list(await s.exec(select(VendorDomain.domain)))
        [secret] = await vendor_secrets.select_active(s, vendor)
    shown_secret = body.split('id="new-secret">')[1].split("<")[0]
    assert secret.secret_hash == digest(shown_secret)
    assert shown_secret not in cookie(admin.client, "portal_csrf")  # sealed, not merely signed
    assert (vendor.key, vendor.signout_url, domains) == (
        "careerhub",
        NEW["signout_url"],
        ["careerhub.io"],
    )
    [event] = await audit_events(database_url, "vendor.created")
    assert event.staff_email == "admin@example.org"
    assert event.details["changes"]["token_url"] == {"before": None, "after": NEW["token_url"]}
    again = await text(await admin.get(reveal))  # a reload
    assert "Copy this secret now" not in again and shown_secret not in again
    assert "The API secret was shown once, when CareerHub Jobs was added" in again
    assert 'href="/admin/vendors/careerhub"' in again
    page = await text(await admin.get("/admin/vendors/careerhub"))
    assert "Copy this secret now" not in page


async def test_a_reveal_page_shows_only_its_own_vendors_secret(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    await admin.post("/admin/vendors", NEW)
    other = await text(await admin.get("/admin/vendors/acme/added"))
    assert "Copy this secret now" not in other
    assert "Copy this secret now" in await text(await admin.get("/admin/vendors/careerhub/added"))
    missing = await admin.get("/admin/vendors/nobody/added")
    assert missing.status_code == 404


async def test_a_bad_vendor_form_comes_back_with_every_reason(admin: Browser) -> None:
    bad = {**NEW, "key": "Bad Key", "domain": "co.uk", "token_url": "http://careerhub.io/t"}
    response = await admin.post("/admin/vendors", bad)
    body = await text(response)
    assert response.status_code == 422
    assert "vendor key must be" in body
    assert "public suffix" in body
    assert "token URL" in body
    assert 'value="Bad Key"' in body


async def test_a_taken_key_is_refused(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url, key="careerhub")
    response = await admin.post("/admin/vendors", NEW)
    assert response.status_code == 422
    assert "already exists" in await text(response)


async def test_editing_records_before_and_after(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    form = {
        "name": "Acme Academy",
        "token_url": "https://acme-learning.com/sso/v2",
        "signout_url": "",
    }
    response = await admin.post("/admin/vendors/acme", form)
    assert response.status_code == 303
    [event] = await audit_events(database_url, "vendor.updated")
    assert event.details["changes"] == {
        "name": {"before": "Acme Learning", "after": "Acme Academy"},
        "token_url": {"before": "https://acme-learning.com/sso/token", "after": form["token_url"]},
        "signout_url": {"before": "https://acme-learning.com/goodbye", "after": None},
    }
    assert "secret" not in json.dumps(event.details)


async def test_staff_set_the_sign_in_start_page_on_the_vendors_domains(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    form = {"name": "Acme Learning", "token_url": "https://acme-learning.com/sso/token"}
    page = await text(await admin.get("/admin/vendors/acme"))
    assert 'name="start_url"' in page and "Sign-in start page" in page

    refused = await admin.post(
        "/admin/vendors/acme", {**form, "start_url": "https://evil.example/"}
    )
    assert refused.status_code == 422
    assert 'id="field-start_url-error"' in await text(refused)

    start = "https://acme-learning.com/sso/start"
    saved = await admin.post("/admin/vendors/acme", {**form, "signout_url": "", "start_url": start})
    assert saved.status_code == 303
    [event] = await audit_events(database_url, "vendor.updated")
    assert event.details["changes"]["start_url"] == {"before": None, "after": start}
    async with unit_of_work(database_url) as s:
        assert (await s.exec(select(Vendor.start_url))).one() == start


async def test_an_htmx_edit_gets_only_the_fragment_back(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    form = {"name": "Acme Academy", "token_url": "https://acme-learning.com/sso/token"}
    response = await admin.post("/admin/vendors/acme", form, htmx=True)
    body = await text(response)
    assert response.status_code == 200
    assert "<html" not in body and 'id="vendor-settings"' in body
    assert 'hx-swap-oob="true"' in body and "Settings saved." in body


async def test_a_bad_edit_is_shown_next_to_its_field(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    form = {
        "name": "Acme",
        "token_url": "https://acme-learning.com/t",
        "signout_url": "https://evil.example/",
    }
    response = await admin.post("/admin/vendors/acme", form, htmx=True)
    body = await text(response)
    assert response.status_code == 422
    assert 'id="field-signout_url-error"' in body and "sign-out URL" in body
    async with unit_of_work(database_url) as s:
        assert (await s.exec(select(Vendor.name))).one() == "Acme Learning"


async def test_disabling_a_vendor_stops_its_sign_ins(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    response = await admin.post("/admin/vendors/acme/disable", htmx=True)
    assert response.status_code == 200
    assert "Enable vendor" in await text(response)
    signin = await admin.client.get("/sso/signin", query_string={"vendor": "acme"})
    assert signin.status_code == 400
    assert (await admin.post("/admin/vendors/acme/enable")).status_code == 303
    events = await audit_events(database_url, "vendor.disabled")
    assert events[0].details["changes"] == {"enabled": {"before": True, "after": False}}


async def test_the_disable_button_asks_first(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    body = await text(await admin.get("/admin/vendors/acme"))
    assert 'hx-confirm="Disable Acme Learning?' in body


async def test_an_unknown_vendor_is_a_404(admin: Browser) -> None:
    assert (await admin.get("/admin/vendors/nope")).status_code == 404
    assert (await admin.post("/admin/vendors/nope/disable")).status_code == 404


async def test_the_new_vendor_page_names_its_default_fields_in_words(admin: Browser) -> None:
    body = await text(await admin.get("/admin/vendors/new"))
    fields = body.split('id="default-fields"')[1].split("</ul>")[0]
    assert "<strong>iMIS ID</strong>" in fields and "<strong>First name</strong>" in fields
    assert "The member&#39;s iMIS ID: stable, the key to keep" in fields
    assert "<code>ImisId</code>" not in body


async def test_staff_choose_how_a_vendor_appears_on_my_sites_audited_and_listed(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    form = {"name": "Acme Learning", "token_url": "https://acme-learning.com/sso/token"}
    page = await text(await admin.get("/admin/vendors/acme"))
    assert 'name="my_sites"' in page and '<option value="shown" selected>' in page
    assert "To stop sign-ins, disable the vendor." in page

    saved = await admin.post("/admin/vendors/acme", {**form, "my_sites": "coming-soon"})
    assert saved.status_code == 303
    [event] = await audit_events(database_url, "vendor.updated")
    assert event.details["changes"]["my_sites"] == {"before": "shown", "after": "coming-soon"}
    shown = await text(await admin.get(f"/admin/audit/{event.id}"))
    assert "On members&#39; My sites" in shown and "Coming soon (greyed, not a link)" in shown
    listing = await text(await admin.get("/admin/vendors"))
    assert "Coming soon on My sites" in listing

    await admin.post("/admin/vendors/acme", {**form, "my_sites": "hidden"})
    listing = await text(await admin.get("/admin/vendors"))
    assert "Hidden from My sites" in listing and "Coming soon on My sites" not in listing
    page = await text(await admin.get("/admin/vendors/acme"))
    assert '<option value="hidden" selected>' in page

    # A form without the choice (an older page) leaves it as it is.
    await admin.post("/admin/vendors/acme", {**form, "name": "Acme Academy"})
    async with unit_of_work(database_url) as s:
        assert (await s.exec(select(Vendor.my_sites))).one() == "hidden"


async def test_an_unknown_my_sites_choice_is_refused_next_to_its_field(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    form = {"name": "Acme Learning", "token_url": "https://acme-learning.com/sso/token"}
    refused = await admin.post("/admin/vendors/acme", {**form, "my_sites": "secret"})
    assert refused.status_code == 422
    assert 'id="field-my_sites-error"' in await text(refused)
    assert await audit_events(database_url, "vendor.updated") == []
    async with unit_of_work(database_url) as s:
        assert (await s.exec(select(Vendor.my_sites))).one() == "shown"

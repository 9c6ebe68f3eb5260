"""The vendor page's sign-in method: Enhanced SSO or OpenID Connect, the exact addresses, the
kind of site, the scopes and refresh tokens; a new OpenID Connect vendor needs no token URL."""

import pytest
from sqlmodel import col, select

from portal import vendor_redirect_uris, vendors
from portal.audit_models import AuditEvent
from portal.models import Vendor, VendorSecret
from tests.admin.browser import Browser, text
from tests.admin.test_vendor_views import added_through_the_form
from tests.flows import add_member, add_vendor, unit_of_work

URL = "/admin/vendors/acme/sign-in-method"
OIDC = {
    "protocol": "oidc",
    "redirect_uris": "https://acme-learning.com/oidc/callback\n\n"
    "https://app.acme-learning.com/cb\nhttps://acme-learning.com/oidc/callback",
    "post_logout_uris": "https://acme-learning.com/",
    "client_type": "confidential",
}


async def saved(database_url: str, key: str = "acme") -> tuple[Vendor, list[str], list[str]]:
    async with unit_of_work(database_url) as s:
        vendor = await vendors.get_vendor(s, key)
        login = await vendor_redirect_uris.select_redirect_uris(s, vendor, "login")
        after = await vendor_redirect_uris.select_redirect_uris(s, vendor, "post_logout")
    return vendor, login, after


async def updates(database_url: str) -> list[AuditEvent]:
    async with unit_of_work(database_url) as s:
        query = select(AuditEvent).where(col(AuditEvent.event) == "vendor.updated")
        return list(await s.exec(query.order_by(col(AuditEvent.id))))


async def test_a_vendor_switches_to_openid_connect_with_exact_addresses(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    form = [*OIDC.items(), ("scopes", "membership"), ("scopes", "email"), ("refresh_tokens", "on")]
    response = await admin.post(URL, [*form, ("pairwise_subject", "on")])
    assert response.status_code == 303
    vendor, login, after = await saved(database_url)
    assert (vendor.protocol, vendor.public_client, vendor.refresh_tokens) == ("oidc", False, True)
    assert vendor.pairwise_subject is True
    assert vendor.scopes == "openid email membership"  # openid always, in the catalogue's order
    assert login == ["https://acme-learning.com/oidc/callback", "https://app.acme-learning.com/cb"]
    assert after == ["https://acme-learning.com/"]
    [event] = await updates(database_url)
    changes = event.details["changes"]
    assert changes["protocol"] == {"before": "enhanced", "after": "oidc"}
    assert changes["redirect_uris"]["after"] == login
    page = await text(await admin.get("/admin/vendors/acme"))
    assert "https://app.acme-learning.com/cb" in page
    assert "/.well-known/openid-configuration" in page  # the Integration tab speaks OIDC now
    assert "openid-client" in page and "AddOpenIdConnect" in page and "jumbojett" in page
    listed = await text(await admin.get("/admin/vendors"))
    assert "OpenID Connect" in listed


async def test_an_app_in_the_browser_is_a_public_client(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    response = await admin.post(URL, {**OIDC, "client_type": "public"}, htmx=True)
    assert response.status_code == 200
    body = await text(response)
    assert 'id="vendor-protocol"' in body and "Sign-in method saved." in body
    assert "<html" not in body  # the card only, for htmx
    vendor, _, _ = await saved(database_url)
    assert vendor.public_client is True
    page = await text(await admin.get("/admin/vendors/acme"))
    assert "undefined, client.None()" in page  # openid-client without a secret


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"redirect_uris": "http://acme-learning.com/cb"}, "must use https"),
        ({"redirect_uris": "https://*.acme-learning.com/cb"}, "wildcards are not allowed"),
        ({"redirect_uris": "https://acme-learning.com/cb*"}, "wildcards are not allowed"),
        ({"redirect_uris": "https://evil.com/cb"}, "not on acme-learning.com"),
        ({"redirect_uris": "https://evil-acme-learning.com/cb"}, "not on acme-learning.com"),
        ({"redirect_uris": "https://acme-learning.com/cb#x"}, "remove the part from #"),
        ({"redirect_uris": "https://acme-learning.com:8443/cb"}, "port"),
        ({"redirect_uris": "acme-learning.com/cb"}, "absolute URL"),
        ({"redirect_uris": "https://u@acme-learning.com/cb"}, "user info"),
        ({"redirect_uris": ""}, "at least one sign-in return address"),
        ({"redirect_uris": "\n".join(f"https://acme-learning.com/{i}" for i in range(11))},
         "at most 10"),
        ({"post_logout_uris": "https://evil.com/"}, "After-sign-out address"),
        ({"scopes": "admin"}, "Unknown scope"),
        ({"protocol": "wsfed"}, "Choose Enhanced SSO, OpenID Connect or SAML 2.0"),
        ({"id_token_signed_response_alg": "HS256"}, "RS256 or ES256, not &#39;HS256&#39;"),
    ],
)  # fmt: skip
async def test_bad_input_comes_back_with_its_reason_and_saves_nothing(
    admin: Browser, database_url: str, change: dict[str, str], reason: str
) -> None:
    await add_vendor(database_url)
    response = await admin.post(URL, {**OIDC, **change}, htmx=True)
    assert response.status_code == 422
    body = await text(response)
    assert reason in body
    assert 'aria-invalid="true"' in body or "field--error" in body
    vendor, login, after = await saved(database_url)
    assert (vendor.protocol, login, after) == ("enhanced", [], [])
    assert await updates(database_url) == []


async def test_how_the_answers_are_made_is_saved_and_audited(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    page = await text(await admin.get("/admin/vendors/acme"))
    assert "mod_auth_openidc 2.4" in page and 'value="RS256" checked' in page
    form = {**OIDC, "omit_iss": "on", "id_token_signed_response_alg": "ES256"}
    assert (await admin.post(URL, form)).status_code == 303
    vendor, _, _ = await saved(database_url)
    assert (vendor.omit_iss, vendor.id_token_signed_response_alg) == (True, "ES256")
    [event] = await updates(database_url)
    assert event.details["changes"]["omit_iss"] == {"before": False, "after": True}
    alg = event.details["changes"]["id_token_signed_response_alg"]
    assert alg == {"before": "RS256", "after": "ES256"}
    shown = await text(await admin.get(f"/admin/audit/{event.id}"))
    assert "Sign-in tokens signed with" in shown and "left out of sign-in answers" in shown


async def test_enhanced_sso_needs_a_token_url(admin: Browser, database_url: str) -> None:
    async with unit_of_work(database_url) as s:
        new = vendors.NewVendor("forum", "Forum", None, ["forum.example.com"], protocol="oidc")
        await vendors.add_vendor(s, new, development=True)
    url = "/admin/vendors/forum/sign-in-method"
    response = await admin.post(url, {"protocol": "enhanced", "redirect_uris": ""})
    assert response.status_code == 422
    assert "Enhanced SSO needs a token URL" in await text(response)
    vendor, _, _ = await saved(database_url, "forum")
    assert vendor.protocol == "oidc"


async def test_an_openid_connect_vendor_keeps_its_details_without_a_token_url(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    assert (await admin.post(URL, OIDC)).status_code == 303
    form = {"name": "Acme Academy", "token_url": "", "signout_url": "", "start_url": ""}
    assert (await admin.post("/admin/vendors/acme", form)).status_code == 303
    vendor, _, _ = await saved(database_url)
    assert (vendor.name, vendor.token_url) == ("Acme Academy", None)


async def test_a_domain_its_addresses_are_on_cannot_be_removed(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url, signout_url=None)
    assert (
        await admin.post("/admin/vendors/acme/domains", {"domain": "acme.org"})
    ).status_code < 400
    assert (await admin.post(URL, OIDC)).status_code == 303
    response = await admin.post("/admin/vendors/acme/domains/acme-learning.com/remove")
    assert response.status_code == 422
    assert "after-sign-out address of this vendor is on this domain" in await text(response)
    assert (await admin.post("/admin/vendors/acme/domains/acme.org/remove")).status_code == 303


NEW_OIDC = {
    "key": "forum",
    "name": "Community Forum",
    "protocol": "oidc",
    "domain": "forum.example.com",
    "token_url": "",
    "redirect_uris": "https://forum.example.com/oidc/callback",
    "signout_url": "",
}


async def test_a_new_openid_connect_vendor_needs_no_token_url(
    admin: Browser, database_url: str
) -> None:
    response = await added_through_the_form(admin, NEW_OIDC)
    body = await text(response)
    assert response.status_code == 200
    assert "Copy this secret now" in body
    assert "https://forum.example.com/oidc/callback" in body
    vendor, login, _ = await saved(database_url, "forum")
    assert (vendor.protocol, vendor.token_url) == ("oidc", None)
    assert login == ["https://forum.example.com/oidc/callback"]


async def test_a_new_app_in_the_browser_gets_no_secret(admin: Browser, database_url: str) -> None:
    response = await added_through_the_form(admin, {**NEW_OIDC, "client_type": "public"})
    body = await text(response)
    assert response.status_code == 200
    assert "Copy this secret now" not in body and "gets no secret" in body
    vendor, _, _ = await saved(database_url, "forum")
    assert vendor.public_client is True
    async with unit_of_work(database_url) as s:
        assert list(await s.exec(select(VendorSecret))) == []
    enhanced = {**NEW_OIDC, "key": "acme", "protocol": "enhanced", "client_type": "public",
                "token_url": "https://forum.example.com/sso/token"}  # fmt: skip
    assert (await admin.post("/admin/vendors", enhanced)).status_code == 303
    vendor, _, _ = await saved(database_url, "acme")
    assert vendor.public_client is False  # an Enhanced vendor always has a secret


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"redirect_uris": ""}, "redirect_uris", "at least one sign-in return address"),
        ({"redirect_uris": "https://evil.com/cb"}, "redirect_uris", "not on forum.example.com"),
        ({"protocol": "enhanced"}, "token_url", "token URL"),
    ],
)
async def test_a_new_vendor_is_checked_by_its_sign_in_method(
    admin: Browser, database_url: str, change: dict[str, str], field: str, reason: str
) -> None:
    response = await admin.post("/admin/vendors", {**NEW_OIDC, **change})
    body = await text(response)
    assert response.status_code == 422
    assert f'id="field-{field}-error"' in body and reason in body
    async with unit_of_work(database_url) as s:
        assert list(await s.exec(select(Vendor))) == []


async def test_a_viewer_sees_the_sign_in_method_but_cannot_change_it(
    viewer: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    page = await text(await viewer.get("/admin/vendors/acme"))
    assert "How members sign in" in page
    assert "Save sign-in method" not in page
    assert (await viewer.post(URL, OIDC)).status_code == 403


async def test_the_preview_shows_the_member_object_and_the_oidc_claims(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    await add_member(database_url)
    form = [*OIDC.items(), ("scopes", "profile"), ("scopes", "membership")]
    assert (await admin.post(URL, form)).status_code == 303
    body = await text(await admin.get("/admin/vendors/acme/preview", htmx=True, member="ada"))
    enhanced, oidc = body.split('id="preview-json"')[1], body.split('id="preview-claims"')[1]
    assert "&#34;FirstName&#34;: &#34;Ada&#34;" in enhanced
    claims = oidc.split("</code>")[0]
    for expected in ('"sub": "101"', '"given_name": "Ada"', '"imis_id": "101"', '"member_type"'):
        assert expected.replace('"', "&#34;") in claims
    assert "email" not in claims  # the email scope is not allowed: its claims are not shown
    assert body.index("preview-claims") < body.index("preview-json")  # its own protocol first


async def test_the_vendor_pages_follow_the_vendors_front_end(
    admin: Browser, database_url: str
) -> None:
    """Its label, its Integration tab, what its tokens do, and the sign-in methods offered with
    OpenID Connect first: each from the front end's registration (portal/front_ends.py)."""
    await add_vendor(database_url)
    page = await text(await admin.get("/admin/vendors/acme"))
    assert "Exchange the token for the member" in page  # Enhanced SSO's Integration tab
    assert "its tokens stop redeeming" in page
    assert page.index('value="oidc"') < page.index('value="enhanced"')
    assert '<td class="nowrap">Enhanced SSO</td>' in await text(await admin.get("/admin/vendors"))
    assert (await admin.post(URL, OIDC)).status_code == 303
    page = await text(await admin.get("/admin/vendors/acme"))
    assert "OpenID Connect for Acme Learning" in page
    assert "Exchange the token for the member" not in page
    assert "its tokens stop working" in page
    assert '<td class="nowrap">OpenID Connect</td>' in await text(await admin.get("/admin/vendors"))
    new = await text(await admin.get("/admin/vendors/new"))
    assert new.index('value="oidc"') < new.index('value="enhanced"')

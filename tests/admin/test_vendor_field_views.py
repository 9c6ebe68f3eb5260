"""Returned fields: a change made in the dashboard is what the user service sends."""

import json
import re

from quart import Quart

from portal.enhanced.front_end import PREVIEW_SID
from tests.admin.browser import Browser, text
from tests.admin.test_vendor_views import audit_events
from tests.flows import Inputs, add_member, add_vendor, redeem, sign_in, token_for

CATALOGUE_ORDER = ["ImisId", "FirstName", "LastName", "Email", "MemberType"]


def fields_form(*chosen: tuple[str, str], move: str | None = None) -> list[tuple[str, str]]:
    """The form as the browser sends it: every row's `order`, ticked `fields`, output names."""
    names = [name for name, _ in chosen] + [n for n in CATALOGUE_ORDER if n not in dict(chosen)]
    form = [("order", name) for name in names]
    form += [("fields", name) for name, _ in chosen]
    form += [(f"output_{name}", output) for name, output in chosen]
    return form + ([("move", move)] if move else [])


async def member_json(app: Quart, database_url: str, secret_login: object) -> dict[str, object]:
    browser = app.test_client()
    assert (await sign_in(browser, vendor="acme")).status_code == 303
    token = await token_for(browser, vendor="acme")
    response = await redeem(browser, secret_login, token)  # type: ignore[arg-type]
    assert response.status_code == 200, await response.get_data(as_text=True)
    body: dict[str, object] = json.loads(await response.get_data(as_text=True))
    assert list(body)[-1] == "sid"  # the portal session's, after the chosen fields
    del body["sid"]
    return body


async def test_the_selection_order_and_names_reach_the_user_service(
    app: Quart, admin: Browser, database_url: str
) -> None:
    vendor = await add_vendor(database_url)
    await add_member(database_url, company="Analytical Engines")
    form = fields_form(
        ("Email", "email_address"), ("ImisId", ""), ("Company", "org"), ("IsMember", "")
    )
    response = await admin.post("/admin/vendors/acme/fields", form)
    assert response.status_code == 303
    body = await member_json(app, database_url, vendor)
    assert list(body.items()) == [
        ("email_address", "ada@example.org"),
        ("ImisId", "101"),
        ("org", "Analytical Engines"),
        ("IsMember", True),
    ]
    [event] = await audit_events(database_url, "vendor.fields_changed")
    assert event.details["changes"]["fields"]["after"] == [
        "Email=email_address",
        "ImisId",
        "Company=org",
        "IsMember",
    ]


async def test_moving_a_field_up_rearranges_the_form_and_saves_nothing(
    app: Quart, admin: Browser, database_url: str
) -> None:
    vendor = await add_vendor(database_url)
    await add_member(database_url)
    saved = list((await member_json(app, database_url, vendor)).keys())
    moved = ["ImisId", "FirstName", "Email", "LastName", "MemberType"]
    form = fields_form(*[(n, "") for n in CATALOGUE_ORDER], move="up:Email")
    for htmx in (True, False):  # the fragment for htmx, the whole page without script
        response = await admin.post("/admin/vendors/acme/fields", form, htmx=htmx)
        assert response.status_code == 200
        body = await text(response)
        orders = re.findall(r'name="order" value="(\w+)"', body)
        assert orders[:5] == moved
        assert "New order not saved yet: Save fields to keep it." in body
    assert list((await member_json(app, database_url, vendor)).keys()) == saved
    assert await audit_events(database_url, "vendor.fields_changed") == []

    save = fields_form(*[(n, "") for n in moved])  # the rearranged form, as it is sent
    response = await admin.post("/admin/vendors/acme/fields", save, htmx=True)
    assert 'role="status">Returned fields saved.</p>' in await text(response)
    assert list((await member_json(app, database_url, vendor)).keys()) == moved


async def test_a_bad_selection_is_refused_and_shown_again(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    for form, reason in [
        (fields_form(("Email", "1bad")), "output name"),
        (fields_form(("Email", "x"), ("ImisId", "x")), "would both be sent as"),
        (fields_form(("Email", "SID")), "kept for the portal session&#39;s id"),
        ([("order", "Email")], "choose at least one field"),
        ([("fields", "Password")], "unknown field"),
    ]:
        response = await admin.post("/admin/vendors/acme/fields", form, htmx=True)
        body = await text(response)
        assert response.status_code == 422, reason
        assert reason in body
    page = Inputs(body)
    assert page.hidden["order"]  # the rows come back, as submitted


async def test_the_preview_is_what_the_user_service_sends(
    app: Quart, admin: Browser, database_url: str
) -> None:
    vendor = await add_vendor(database_url)
    await add_member(database_url)
    response = await admin.get("/admin/vendors/acme/preview", htmx=True, member="101")
    body = await text(response)
    assert "<html" not in body and "preview-title" in body
    sent = {**await member_json(app, database_url, vendor), "sid": PREVIEW_SID}
    assert json.dumps(sent, indent=2).replace('"', "&#34;") in body


async def test_the_preview_follows_the_unsaved_form(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    await add_member(database_url)
    query = "&".join(f"{k}={v}" for k, v in fields_form(("LastName", "surname")))
    response = await admin.client.get(
        f"/admin/vendors/acme/preview?{query}&member=ada", headers={"HX-Request": "true"}
    )
    body = await text(response)
    assert "Unsaved selection" in body
    assert "&#34;surname&#34;: &#34;Lovelace&#34;" in body
    assert "FirstName" not in body.split("language-json")[1]


async def test_the_preview_says_when_no_member_matches(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    await add_member(database_url)
    body = await text(await admin.get("/admin/vendors/acme/preview", member="nobody"))
    assert "No member matches “nobody”." in body

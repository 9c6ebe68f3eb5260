from quart import Quart
from sqlmodel import select

from portal.auth.models import AuthSession, SignInThrottle
from portal.models import Member
from tests.admin.browser import Browser, text
from tests.admin.test_vendor_views import audit_events
from tests.flows import PASSWORD, add_member, sign_in, unit_of_work

NEW = {"imis_id": "201", "username": "Grace", "email": "grace@example.org",
       "first_name": "Grace", "last_name": "Hopper", "member_type": "STU"}  # fmt: skip


async def member_id(database_url: str, username: str = "ada") -> int:
    async with unit_of_work(database_url) as s:
        found = (await s.exec(select(Member.id).where(Member.username == username))).one()
        assert found is not None
        return found


async def test_search_finds_by_name_email_username_and_imis_id(
    admin: Browser, database_url: str
) -> None:
    await add_member(database_url)
    await add_member(database_url, imis_id="102", username="grace", email="g@example.org",
                     first_name="Grace", last_name="Hopper")  # fmt: skip
    for q, found, missing in [
        ("lovelace", "ada", "grace"),
        ("G@EXAMPLE", "grace", "ada"),
        ("ada", "ada", "grace"),
        ("102", "grace", "ada"),
        ("grace hopper", "grace", "ada"),
        ("%", None, None),
    ]:
        body = await text(await admin.get("/admin/members", q=q))
        if found:
            assert f">{found}</td>" in body and f">{missing}</td>" not in body, q
        else:
            assert "No member matches" in body
    response = await admin.get("/admin/members", htmx=True, q="ada")
    assert "<html" not in await text(response)


async def test_the_list_names_member_types_by_their_meaning(
    admin: Browser, database_url: str
) -> None:
    await add_member(database_url)  # REG
    await add_member(database_url, imis_id="102", username="grace", email="g@example.org",
                     member_type="XYZ")  # fmt: skip
    body = await text(await admin.get("/admin/members"))
    assert "<td>Regular (REG)</td>" in body
    assert "<td>XYZ</td>" in body  # a code the catalogue does not know stays as it is


async def test_adding_a_member_with_a_password_lets_them_sign_in(
    app: Quart, admin: Browser, database_url: str
) -> None:
    response = await admin.post("/admin/members", {**NEW, "password": PASSWORD})
    assert response.status_code == 303
    assert (await sign_in(app.test_client(), "grace")).status_code == 303
    [event] = await audit_events(database_url, "member.created")
    assert event.details["changes"]["username"] == {"before": None, "after": "grace"}
    assert "password" not in str(event.details)


async def test_a_bad_member_form_says_which_field(admin: Browser, database_url: str) -> None:
    await add_member(database_url)
    for change, field, reason in [
        ({"email": "not-an-email"}, "email", "Email must be an email address, such as name@"),
        ({"imis_id": "101"}, "imis_id", "another member already has this iMIS ID"),
        (
            {"paid_through": "31/12/2030"},
            "paid_through",
            "Paid through must be a date written as YYYY-MM-DD",
        ),
        ({"password": "short"}, "password", "at least 8 characters"),
    ]:
        response = await admin.post("/admin/members", {**NEW, **change})
        body = await text(response)
        assert response.status_code == 422, field
        assert f'id="field-{field}-error"' in body and reason in body, field


async def test_editing_records_only_what_changed(admin: Browser, database_url: str) -> None:
    await add_member(database_url)
    ada = await member_id(database_url)
    form = {
        "imis_id": "101", "username": "ada", "email": "ada@example.org", "first_name": "Ada",
        "last_name": "King", "member_type": "FEL", "member_status": "A",
        "paid_through": "2030-12-31",
    }  # fmt: skip
    response = await admin.post(f"/admin/members/{ada}", form, htmx=True)
    assert response.status_code == 200
    [event] = await audit_events(database_url, "member.updated")
    assert event.details["changes"] == {
        "last_name": {"before": "Lovelace", "after": "King"},
        "member_type": {"before": "REG", "after": "FEL"},
    }


async def test_disabling_a_member_ends_their_sessions(
    app: Quart, admin: Browser, database_url: str
) -> None:
    await add_member(database_url)
    browser = app.test_client()
    await sign_in(browser)
    ada = await member_id(database_url)
    page = await text(await admin.get(f"/admin/members/{ada}"))
    assert 'hx-confirm="Disable ada?' in page
    assert (await admin.post(f"/admin/members/{ada}/disable")).status_code == 303
    async with unit_of_work(database_url) as s:
        session = (await s.exec(select(AuthSession).where(AuthSession.member_id == ada))).one()
    assert session.end_reason == "member_disabled"
    assert (await sign_in(app.test_client())).status_code == 401
    [event] = await audit_events(database_url, "member.disabled")
    assert event.details["sessions_ended"] == 1


async def test_setting_a_password(app: Quart, admin: Browser, database_url: str) -> None:
    await add_member(database_url)
    ada = await member_id(database_url)
    response = await admin.post(f"/admin/members/{ada}/password", {"password": "short"}, htmx=True)
    assert response.status_code == 422
    assert "at least 8 characters" in await text(response)
    response = await admin.post(f"/admin/members/{ada}/password", {"password": "a new passphrase"})
    assert response.status_code == 303
    assert (await sign_in(app.test_client(), password="a new passphrase")).status_code == 303
    assert len(await audit_events(database_url, "member.password_set")) == 1


async def test_an_imis_member_gets_no_local_password(admin: Browser, database_url: str) -> None:
    await add_member(database_url)
    async with unit_of_work(database_url) as s:
        member = (await s.exec(select(Member))).one()
        member.source, member.password_hash = "imis", None
        s.add(member)
    response = await admin.post(f"/admin/members/{member.id}/password", {"password": "long enough"})
    assert response.status_code == 422
    assert "change the password in iMIS" in await text(response)


async def test_unlocking_a_locked_member(app: Quart, admin: Browser, database_url: str) -> None:
    await add_member(database_url)
    ada = await member_id(database_url)
    async with unit_of_work(database_url) as s:
        for name in ("member:ada", "member:ada@example.org"):
            s.add(SignInThrottle(scope="account", subject=name, consecutive_failures=100))
    assert (await sign_in(app.test_client())).status_code == 429
    assert "Locked" in await text(await admin.get("/admin/members", q="ada"))
    response = await admin.post(f"/admin/members/{ada}/unlock", htmx=True)
    assert response.status_code == 200 and "can sign in again" in await text(response)
    assert (await sign_in(app.test_client())).status_code == 303
    assert (await sign_in(app.test_client(), login="ada@example.org")).status_code == 303
    assert len(await audit_events(database_url, "member.unlocked")) == 1


async def test_an_unknown_member_is_a_404(admin: Browser) -> None:
    assert (await admin.get("/admin/members/999")).status_code == 404
    assert (await admin.post("/admin/members/999/disable")).status_code == 404
    assert (await admin.get("/admin/members/nope")).status_code == 404


async def test_search_ignores_accents_and_case_both_ways(admin: Browser, database_url: str) -> None:
    await add_member(database_url, imis_id="301", username="mueller", email="m@example.org",
                     first_name="Jürgen", last_name="Müller")  # fmt: skip
    await add_member(database_url, imis_id="302", username="garcon", email="gc@example.org",
                     first_name="François", last_name="Garçon")  # fmt: skip
    await add_member(database_url, imis_id="303", username="soren", email="s@example.org",
                     first_name="Søren", last_name="Ørsted")  # fmt: skip
    for q, found in [
        ("Muller", "mueller"),
        ("MÜLLER", "mueller"),
        ("jurgen muller", "mueller"),
        ("Garcon", "garcon"),
        ("francois", "garcon"),
        ("GARÇON", "garcon"),
        ("soren orsted", "soren"),
    ]:
        body = await text(await admin.get("/admin/members", q=q))
        assert f">{found}</td>" in body, q
        assert body.count("</tr>") == 2, q  # the header row and the one member


async def test_an_edited_name_is_found_by_its_new_spelling(
    admin: Browser, database_url: str
) -> None:
    await add_member(database_url)
    edit = {**NEW, "imis_id": "101", "username": "ada", "email": "ada@example.org",
            "first_name": "Adèle", "last_name": "Łukasiewicz"}  # fmt: skip
    response = await admin.post(f"/admin/members/{await member_id(database_url)}", edit)
    assert response.status_code == 303
    assert ">ada</td>" in await text(await admin.get("/admin/members", q="adele lukasiewicz"))
    assert ">ada</td>" not in await text(await admin.get("/admin/members", q="Lovelace"))

"""Issue 13, points 2 and 7, in Chromium: membership status staff can see, and a CSV import that
takes the files spreadsheets write, with a dry run and the rejected rows to download."""

import csv
import io
import re

from playwright.sync_api import Page, expect

from e2e.steps import nav, staff_sign_in
from tests.live import LiveDemo


def add_lapsed_member(page: Page) -> None:
    nav(page, "Members").click()
    page.get_by_role("link", name="Add member").click()
    page.get_by_label("iMIS ID").fill("901")
    page.get_by_label("Username").fill("lapsey")
    page.get_by_label("Last name").fill("Lapsewell")
    page.get_by_label("Paid through").fill("2024-01-31")
    page.get_by_role("button", name="Add member").click()


def test_a_lapsed_member_shows_lapsed_on_their_page_and_the_list(
    staff_page: Page, demo: LiveDemo
) -> None:
    page = staff_page
    staff_sign_in(page, demo)
    add_lapsed_member(page)
    status = page.locator("#member-status").get_by_test_id("member-status")
    expect(status).to_contain_text("Lapsed since 1 Feb 2024")
    expect(status).to_contain_text("No password")  # added without one
    expect(page.locator("#member-status")).to_contain_text("Paid through 31 Jan 2024.")

    nav(page, "Members").click()
    page.get_by_role("searchbox", name="Search").fill("lapsewell")
    row = page.get_by_role("row").filter(has_text="lapsey")
    expect(row.get_by_test_id("member-status")).to_contain_text("Lapsed since 1 Feb 2024")
    expect(row.get_by_test_id("member-status")).not_to_contain_text("Active")

    page.get_by_role("searchbox", name="Search").fill("")
    page.get_by_label("Status").select_option("lapsed")  # htmx: the list follows the choice
    expect(page).to_have_url(re.compile(r"status=lapsed"))
    expect(page.get_by_role("link", name="Edit lapsey")).to_be_visible()
    expect(page.get_by_role("link", name="Edit ada")).to_have_count(0)
    page.get_by_label("Status").select_option("current")
    expect(page.get_by_role("link", name="Edit ada")).to_be_visible()
    expect(page.get_by_role("link", name="Edit lapsey")).to_have_count(0)
    page.reload()  # the filter lives in the query string
    expect(page.get_by_label("Status")).to_have_value("current")
    expect(page.get_by_role("link", name="Edit lapsey")).to_have_count(0)


def choose_file(page: Page, content: bytes, name: str = "export.csv") -> None:
    nav(page, "Members").click()
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    page.get_by_role("button", name="Next: check the columns").click()


EXCEL_EUROPE = "ID;E-mail;Login;First name;Surname\r\n301;renee@example.org;renee;Renée;Müller\r\n"


def test_a_semicolon_separated_windows_1252_file_imports(staff_page: Page, demo: LiveDemo) -> None:
    page = staff_page
    staff_sign_in(page, demo)
    choose_file(page, EXCEL_EUROPE.encode("cp1252"))
    expect(page.get_by_text("read as Windows-1252 text separated by semicolons")).to_be_visible()
    expect(page.get_by_label("ID", exact=True)).to_have_value("imis_id")
    expect(page.get_by_label("E-mail")).to_have_value("email")
    expect(page.get_by_label("Login")).to_have_value("username")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Report for export.csv")).to_be_visible()
    expect(page.get_by_text("1 member added")).to_be_visible()

    nav(page, "Members").click()
    page.get_by_role("searchbox", name="Search").fill("müller")
    expect(page.get_by_role("link", name="Renée Müller")).to_be_visible()


def test_a_dry_run_writes_nothing_then_imports(staff_page: Page, demo: LiveDemo) -> None:
    page = staff_page
    staff_sign_in(page, demo)
    choose_file(page, b"imis_id,username,last_name\n401,dryrun,Dryden\n")
    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_text("Dry run: nothing was written")).to_be_visible()
    expect(page.get_by_text("1 member to add")).to_be_visible()

    other_tab = page.context.new_page()
    other_tab.goto(f"{demo.portal_url}/admin/members?q=dryden")
    expect(other_tab.get_by_text("No member matches “dryden”")).to_be_visible()
    other_tab.close()

    page.get_by_role("button", name="Import now").click()
    expect(page.get_by_text("1 member added")).to_be_visible()
    nav(page, "Members").click()
    page.get_by_role("searchbox", name="Search").fill("dryden")
    expect(page.get_by_role("link", name="Edit dryrun")).to_be_visible()


def test_the_rejected_rows_download_to_fix_and_import_again(
    staff_page: Page, demo: LiveDemo
) -> None:
    page = staff_page
    staff_sign_in(page, demo)
    content = "ID;Login;Surname\r\n501;mary;Somerville\r\n502;;Nöether\r\n503;ada;Again\r\n"
    choose_file(page, content.encode("cp1252"))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("1 member added")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the rejected rows (CSV)").click()
    assert download.value.suggested_filename == "export-rejected.csv"
    saved = download.value.path().read_bytes().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(saved), delimiter=";")) == [
        ["ID", "Login", "Surname", "reason"],
        ["502", "", "Nöether", "Username is required."],
        ["503", "ada", "Again", "another member already has this username"],
    ]

    fixed = saved.replace("502;;", "502;emmy;").replace("503;ada;", "503;ada503;")
    choose_file(page, fixed.encode("utf-8-sig"), "export-rejected.csv")
    expect(page.get_by_label("reason")).to_have_value("")  # the reason is not imported
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("2 members added")).to_be_visible()

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from portal.audit import CSV_COLUMNS, CSV_WORD_COLUMNS
from portal.audit_models import AuditEvent
from tests.admin.browser import Browser, text
from tests.flows import add_member, add_vendor, unit_of_work

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


async def add_events(database_url: str, n: int, **values: object) -> None:
    async with unit_of_work(database_url) as s:
        for i in range(n):
            fields = {"event": "token.issued", "outcome": "success", "vendor_key": "acme"} | values
            s.add(AuditEvent(occurred_at=START + timedelta(hours=i), **fields))  # type: ignore[arg-type]


async def csv_rows(admin: Browser, **query: str) -> list[list[str]]:
    response = await admin.get("/admin/audit.csv", **query)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    body = await text(response)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


async def test_pages_of_fifty_linked_by_cursor(admin: Browser, database_url: str) -> None:
    await add_events(database_url, 120, vendor_key="careerhub")
    first = await text(await admin.get("/admin/audit", vendor="careerhub"))
    assert first.count("<td>Sign-in token issued for careerhub") == 50  # not registered: its key
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert older.startswith("/admin/audit?vendor=careerhub&amp;before=")
    second = await text(await admin.client.get(older.replace("&amp;", "&")))
    assert 'rel="prev"' in second and 'rel="next"' in second
    assert "Showing 50 events" in second


async def test_filters_by_event_vendor_member_outcome_and_dates(
    admin: Browser, database_url: str
) -> None:
    await add_member(database_url)
    await add_events(database_url, 3)
    await add_events(
        database_url, 2, event="sign_in", outcome="failure", vendor_key=None, username="ghost"
    )
    await add_events(database_url, 1, event="sign_in", vendor_key=None, member_id=1)
    for query, count in [
        ({"event": "sign_in"}, 3),
        ({"vendor": "acme"}, 3),
        ({"outcome": "failure"}, 2),
        ({"member": "ada"}, 1),
        ({"member": "101"}, 1),
        ({"member": "Ghost"}, 2),
        ({"from": "2026-11-20", "to": "2026-11-20"}, 6),
        ({"from": "2026-11-21"}, 0),
    ]:
        rows = await csv_rows(admin, **query)
        exported = [r for r in rows[1:] if r[2] in ("token.issued", "sign_in")]
        assert len(exported) == count, query


async def test_bad_filters_are_a_400_with_the_reason(admin: Browser) -> None:
    response = await admin.get("/admin/audit", **{"from": "yesterday", "outcome": "maybe"})
    body = await text(response)
    assert response.status_code == 400
    assert "Enter a date as YYYY-MM-DD." in body and "Choose success or failure." in body
    assert (await admin.get("/admin/audit.csv", to="31/12")).status_code == 400


async def test_the_export_is_the_whole_filtered_view(admin: Browser, database_url: str) -> None:
    await add_events(database_url, 1500)
    await add_events(database_url, 5, vendor_key="careerhub")
    rows = await csv_rows(admin, vendor="acme")
    assert rows[0] == [*CSV_COLUMNS, *CSV_WORD_COLUMNS]
    assert len(rows) == 1 + 1500
    ids = [int(r[0]) for r in rows[1:]]
    assert ids == sorted(ids, reverse=True)
    assert rows[1][1] == (START + timedelta(hours=1499)).isoformat()
    assert {r[4] for r in rows[1:]} == {"acme"}


async def test_the_export_cannot_carry_a_formula(admin: Browser, database_url: str) -> None:
    await add_events(
        database_url, 1, event="sign_in", outcome="failure", username='=HYPERLINK("http://evil")'
    )
    await add_events(
        database_url, 1, event="sign_in", outcome="failure", username="@cmd", client_address="+1"
    )
    rows = await csv_rows(admin, event="sign_in")
    cells = [cell for row in rows[1:] for cell in row]
    assert '\'=HYPERLINK("http://evil")' in cells and "'@cmd" in cells and "'+1" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


async def test_exporting_is_itself_audited(admin: Browser, database_url: str) -> None:
    await csv_rows(admin, vendor="acme")
    rows = await csv_rows(admin, event="audit.exported")
    assert len(rows) == 3 and '"vendor": "acme"' in rows[2][len(CSV_COLUMNS) - 1]
    assert rows[2][-1] == "Filters: Vendor: acme"


async def test_an_event_shows_every_detail(admin: Browser, database_url: str) -> None:
    await add_events(
        database_url, 1, event="vendor.updated", staff_email="jo@example.org",
        details={"changes": {"name": {"before": "A", "after": "B <b>"}}},
    )  # fmt: skip
    async with unit_of_work(database_url) as s:
        event_id = (
            await s.exec(select(AuditEvent.id).where(AuditEvent.event == "vendor.updated"))
        ).one()
    body = await text(await admin.get(f"/admin/audit/{event_id}"))
    assert "vendor.updated" in body and "jo@example.org" in body
    assert "&#34;before&#34;: &#34;A&#34;" in body and "B &lt;b&gt;" in body
    assert (await admin.get("/admin/audit/999")).status_code == 404


async def test_htmx_gets_only_the_results(admin: Browser, database_url: str) -> None:
    await add_events(database_url, 3)
    body = await text(await admin.get("/admin/audit", htmx=True, event="token.issued"))
    export, results = body.strip().split("\n", 1)
    # The export link lives outside #results: it follows the filters out of band.
    assert export.startswith('<a class="btn btn--secondary" id="audit-export"')
    assert 'href="/admin/audit.csv?event=token.issued"' in export
    assert 'hx-swap-oob="true"' in export
    assert results.lstrip().startswith('<div id="results">')


async def test_events_read_in_words_to_the_second(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    await add_events(database_url, 1, event="sso.passive", outcome="failure",
                     details={"reason": "login_required"})  # fmt: skip
    await add_events(database_url, 1, event="token.redeemed")
    body = await text(await admin.get("/admin/audit", vendor="acme"))
    assert "<td>Silent sign-in check by Acme Learning" in body
    assert "Member not signed in (the normal answer)" in body
    assert ">Expected</span>" in body and ">Failure</span>" not in body
    assert "<td>Token redeemed by Acme Learning" in body
    assert '<option value="acme" selected>Acme Learning</option>' in body
    assert '<option value="token.redeemed">Token redeemed by a vendor</option>' in body
    assert "20 Nov 2026, 08:00:00" in body  # to the second
    assert "Showing 2 events" in body
    one = await text(await admin.get("/admin/audit", event="token.redeemed"))
    assert "Showing 1 event," in one


async def test_a_change_shows_before_then_after(admin: Browser, database_url: str) -> None:
    changes = {"paid_through": {"before": "2024-12-31", "after": "2026-12-31"}}
    await add_events(database_url, 1, event="member.updated", details={"changes": changes})
    async with unit_of_work(database_url) as s:
        query = select(AuditEvent.id).where(AuditEvent.event == "member.updated")
        event_id = (await s.exec(query)).one()
    body = await text(await admin.get(f"/admin/audit/{event_id}"))
    assert "<h1" in body and "Member details changed" in body
    row = body.split('id="event-changes"')[1].split("</table>")[0]
    assert '<th scope="row">Paid through</th><td>31 Dec 2024</td><td>31 Dec 2026</td>' in row


async def test_the_export_opens_in_excel_with_words_beside_the_codes(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url, key="acme", name="Acmé Learning")
    await add_events(database_url, 1, event="oidc.code_redeemed", details={"reason": None})
    await add_events(
        database_url,
        1,
        event="member.updated",
        vendor_key=None,
        details={"changes": {"email": {"before": "zoë@example.org", "after": "zoe@example.org"}}},
    )
    response = await admin.get("/admin/audit.csv")
    body = await response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel then reads the accents right
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][: len(CSV_COLUMNS)] == list(CSV_COLUMNS)  # the codes, for machines
    assert rows[0][len(CSV_COLUMNS) :] == ["What happened", "Details in words"]
    by_event = {r[2]: r for r in rows[1:]}
    redeemed = "Member's sign-in to Acmé Learning completed (OpenID Connect)"
    assert by_event["oidc.code_redeemed"][-2] == redeemed
    changed = by_event["member.updated"]
    assert changed[-2] == "Member details changed"
    assert "zoë@example.org → zoe@example.org" in changed[-1]

"""Ids and integer arguments from the outside: every dashboard route, found in the URL map, with
ids no column can hold, as a viewer and as an admin. Never a 500: a 404 for a path, a 400 for a
query argument."""

import re

import pytest
from quart import Quart
from werkzeug.routing import IntegerConverter

from portal import create_app
from portal.settings import Settings
from tests.admin.browser import Browser, add_staff
from tests.admin.test_access import ROUTES, Route, seed
from tests.conftest import TEST_SECRET_KEY

TOO_BIG = ["2147483648", "9223372036854775808", "99999999999999999999"]
NOT_IDS = ["0", "007", "-1", "1.5", "１"]  # noqa: RUF001 - a fullwidth digit, on purpose
INTEGER_ARGUMENTS = ("before", "after", "member", "page")


def with_id(route: Route, values: dict[str, str], bad: str) -> str:
    """The route's path with every id replaced by `bad`, other parts by their seeded values."""

    def part(match: re.Match[str]) -> str:
        converter, name = match.groups()
        return bad if converter else values[name]

    return re.sub(r"<(?:(\w+):)?(\w+)>", part, route.rule)


def test_no_route_takes_an_unbounded_integer() -> None:
    app = create_app(Settings(env="development", secret_key=TEST_SECRET_KEY))
    for rule in app.url_map.iter_rules():
        converters = rule._converters.values()
        assert not any(isinstance(c, IntegerConverter) for c in converters), rule.rule


@pytest.mark.parametrize("role", ["viewer", "admin"])
async def test_ids_beyond_the_columns_are_404_on_every_route(
    role: str, app: Quart, database_url: str
) -> None:
    values = await seed(database_url, app)
    await add_staff(database_url, f"{role}@example.org", role)
    browser = Browser(app)
    assert (await browser.sign_in(f"{role}@example.org")).status_code == 303
    wrong = []
    for route in (r for r in ROUTES if re.search(r"<\w+:", r.rule)):
        for bad in TOO_BIG + NOT_IDS:
            path = with_id(route, values, bad)
            if route.method == "GET":
                response = await browser.get(path)
            else:
                response = await browser.post(path)
            if response.status_code != 404:
                wrong.append(f"{route} {path}: {response.status_code}")
    assert wrong == []


@pytest.mark.parametrize("role", ["viewer", "admin"])
async def test_integer_arguments_out_of_range_are_400_on_every_page(
    role: str, app: Quart, database_url: str
) -> None:
    await seed(database_url, app)
    await add_staff(database_url, f"{role}@example.org", role)
    browser = Browser(app)
    assert (await browser.sign_in(f"{role}@example.org")).status_code == 303
    wrong = []
    pages = [r for r in ROUTES if r.method == "GET" and "<" not in r.rule]
    for route in pages:
        for name in INTEGER_ARGUMENTS:
            for bad in [*TOO_BIG, "-1", "x"]:
                response = await browser.get(route.rule, **{name: bad})
                if response.status_code >= 500:
                    wrong.append(f"{route}?{name}={bad}: {response.status_code}")
    assert wrong == []


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/admin/audit", {"before": "99999999999999999999"}),
        ("/admin/audit", {"after": "9223372036854775808"}),
        ("/admin/audit", {"before": "0"}),
        ("/admin/sessions", {"member": "2147483648"}),
        ("/admin/sessions", {"before": "2147483648"}),
        ("/admin/sessions", {"member": "ada"}),
        ("/admin/members", {"page": "99999999999999999999"}),
        ("/admin/members", {"page": "0"}),
    ],
)
async def test_an_integer_argument_out_of_range_is_a_400_that_names_it(
    viewer: Browser, path: str, query: dict[str, str]
) -> None:
    response = await viewer.get(path, **query)
    assert response.status_code == 400
    [name] = query
    assert f"{name} must be a whole number from 1 to " in await response.get_data(as_text=True)


async def test_audit_cursors_keep_the_whole_bigint_range(viewer: Browser) -> None:
    assert (await viewer.get("/admin/audit", before="9223372036854775807")).status_code == 200
    assert (await viewer.get("/admin/audit/9223372036854775807")).status_code == 404
    assert (await viewer.get("/admin/audit", before="")).status_code == 200  # blank: no cursor

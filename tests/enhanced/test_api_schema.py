"""The user service's OpenAPI document (/api/openapi.json) is valid OpenAPI 3.1, documents every
error the code raises, and every real answer — each status it documents, caused for real — is
checked against it by openapi-core: status, headers, content type and body."""

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from quart import Quart
from quart.typing import TestClientProtocol as Client
from quart.wrappers import Response
from sqlalchemy import text

from portal import openapi
from portal.enhanced import api
from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import VendorLogin, issue_token, unit_of_work

PATH = "/api/sso/user"
pytestmark = pytest.mark.usefixtures("ada")


async def document(app: Quart) -> dict[str, Any]:
    response = await app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = await response.get_json()
    return found


class Checked:
    """Sends requests to the user service and checks each answer against the document."""

    def __init__(self, client: Client, spec: OpenAPI) -> None:
        self.client, self.spec = client, spec
        self.statuses: set[int] = set()

    async def send(self, method: str, **options: Any) -> Response:
        response = await self.client.open(PATH, method=method, **options)
        form = options.get("form")
        request = MockRequest(
            "http://localhost",
            method,
            PATH,
            args=options.get("query_string"),
            headers=options.get("headers"),
            data=b"" if form is None else b"token=" + form["token"].encode(),
            content_type="application/x-www-form-urlencoded" if form else "",
        )
        data = await response.get_data()
        answer = MockResponse(data, response.status_code, dict(response.headers), response.mimetype)
        self.spec.validate_response(request, answer)
        self.statuses.add(response.status_code)
        return response


async def test_the_document_is_valid_openapi(app: Quart) -> None:
    found = await document(app)
    OpenAPI.from_dict(found)  # validates the document itself
    assert found["openapi"].startswith("3.1")
    assert set(found["paths"]) == {PATH}
    assert set(found["paths"][PATH]["get"]["responses"]) == {
        "200", "400", "401", "403", "413", "429", "503"
    }  # fmt: skip


async def test_every_real_answer_matches_the_document(
    settings: Settings, clock: FakeClock, acme: VendorLogin, database_url: str
) -> None:
    async with running_app(settings, clock, api_rate_per_minute=6) as app:
        checked = Checked(app.test_client(), OpenAPI.from_dict(await document(app)))
        good = acme.basic()
        token, other = await issue_token(database_url), await issue_token(database_url)
        assert (
            await checked.send("GET", query_string={"token": token}, headers=good)
        ).status_code == 200
        assert (await checked.send("POST", form={"token": other}, headers=good)).status_code == 200
        assert (
            await checked.send("GET", query_string={"token": token}, headers=good)
        ).status_code == 400
        assert (await checked.send("GET", headers=good)).status_code == 400
        assert (
            await checked.send("POST", form={"token": "short"}, headers=good)
        ).status_code == 400
        assert (await checked.send("GET", query_string={"token": token})).status_code == 401
        wrong = acme.basic("wrong")
        assert (
            await checked.send("GET", query_string={"token": token}, headers=wrong)
        ).status_code == 401
        for method in ("PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"):
            assert (await checked.send(method, headers=good)).status_code == 405
        big = await checked.send("POST", data=b"token=" + b"a" * 3_000_000, headers={
            **good, "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert big.status_code == 413
        async with unit_of_work(database_url) as session:
            await session.execute(text("UPDATE vendor SET enabled = false"))
        assert (
            await checked.send("GET", query_string={"token": other}, headers=good)
        ).status_code == 403
        async with unit_of_work(database_url) as session:
            await session.execute(text("UPDATE vendor SET enabled = true"))
        while (await checked.send("GET", headers=good)).status_code != 429:
            pass
    async with running_app(settings, clock, database_url="postgresql://u@127.0.0.1:9/x") as down:
        checked.client = down.test_client()
        assert (
            await checked.send("GET", query_string={"token": token}, headers=good)
        ).status_code == 503
    assert checked.statuses == {200, 400, 401, 403, 405, 413, 429, 503}


def raised_errors() -> set[tuple[int, str]]:
    """(status, error) of every `ApiError(status, "error", …)` written in api.py."""
    tree = ast.parse(Path(inspect.getfile(api)).read_text())
    return {
        (node.args[0].value, node.args[1].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "ApiError"
        and all(isinstance(arg, ast.Constant) for arg in node.args[:2])
    }


async def test_every_error_the_code_raises_is_documented(app: Quart) -> None:
    operations = (await document(app))["paths"][PATH]
    documented = {
        (int(status), code)
        for operation in operations.values()
        for status, answer in operation["responses"].items()
        for code in answer.get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("properties", {})
        .get("error", {})
        .get("enum", [])
    }
    assert len(raised_errors()) >= 5
    assert raised_errors() <= documented


def test_a_route_whose_methods_and_declaration_part_is_refused() -> None:
    app = Quart(__name__)
    declared = openapi.Declaration(
        {"GET": openapi.Operation("only_get", "s", "d", {200: openapi.Answer("ok")})}
    )

    @app.route("/both", methods=["GET", "POST"])
    @openapi.documented(declared)
    async def both() -> str:
        return ""

    with pytest.raises(ValueError, match="declare exactly those"):
        openapi.document(app, info={}, servers=[], security_schemes={}, headers={})

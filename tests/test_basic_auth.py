"""HTTP Basic credentials from any bytes a client can send: a pair, or nothing, never a crash."""

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from quart import Quart
from sqlmodel import select

from portal.audit_models import AuditEvent
from portal.basic_auth import authorization
from tests.flows import add_vendor, unit_of_work


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def test_a_well_formed_header_gives_the_pair() -> None:
    credentials = authorization(basic(b"acme:s3cret:with:colons"))
    assert credentials is not None
    assert (credentials.type, credentials.username, credentials.password) == (
        "basic",
        "acme",
        "s3cret:with:colons",
    )
    assert authorization(basic("é:ü".encode())) is not None  # RFC 7617 charset="UTF-8"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic \xff\xfe",  # bytes beyond ASCII, as a latin-1 header value reaches us
        "Basic " + base64.b64encode(b"acme:x").decode() + "\xe9",
        "Basic \u00e9Y21lOng=",
        "Basic !!!notbase64",
        basic(b"\xff\xfe:\xfd"),  # decodes, but not to UTF-8
    ],
)
def test_a_malformed_header_is_no_credentials(header: str | None) -> None:
    assert authorization(header) is None


@given(st.text(alphabet=st.characters(max_codepoint=255), max_size=80))
def test_no_header_value_raises(value: str) -> None:
    authorization("Basic " + value)
    authorization(value)


@pytest.mark.parametrize(
    "header",
    [b"Basic \xff\xfe", b"Basic Y\xe9NtZTp4", b"basic \x80", b"Basic " + b"\xc3\xa9" * 4],
)
async def test_the_user_service_answers_401_to_non_ascii_credentials(
    app: Quart, database_url: str, header: bytes
) -> None:
    await add_vendor(database_url)
    response = await app.test_client().get(
        "/api/sso/user",
        query_string={"token": "A" * 43},
        headers={"Authorization": header.decode("latin-1")},
    )
    assert response.status_code == 401
    assert (await response.get_json())["error"] == "invalid_client"
    async with unit_of_work(database_url) as session:
        [event] = await session.exec(select(AuditEvent).where(AuditEvent.event == "vendor.auth"))
    assert event.details["reason"] == "no_credentials"

"""The authorization endpoint's refusals, table-driven: what cannot safely go back to a
registered redirect URI is a 400 page (never a redirect); the rest goes to the vendor."""

import pytest
from quart import Quart

from tests.flows import VendorLogin, add_vendor, sign_in
from tests.oidc.oidc_flows import (
    REDIRECT_URI,
    Pkce,
    add_oidc_vendor,
    audit_events,
    authorize_query,
    redirect_params,
)

pytestmark = pytest.mark.usefixtures("ada", "learn")


@pytest.fixture(autouse=True)
async def others(database_url: str) -> None:
    await add_vendor(database_url)  # "acme": an Enhanced vendor
    await add_oidc_vendor(database_url, "off", domain="off.example.org", enabled=False)
    narrow = {"scopes": "openid email", "refresh_tokens": False}
    await add_oidc_vendor(database_url, "narrow", domain="narrow.example.org", **narrow)


PAGE_CASES = {
    "no client_id": {"client_id": None},
    "unknown client": {"client_id": "nobody"},
    "disabled vendor": {"client_id": "off"},
    "an Enhanced vendor": {"client_id": "acme"},
    "no redirect_uri": {"redirect_uri": None},
    "unregistered redirect_uri": {"redirect_uri": "https://evil.example.com/callback"},
    "redirect_uri with a query added": {"redirect_uri": REDIRECT_URI + "?next=x"},
    "redirect_uri with a slash added": {"redirect_uri": REDIRECT_URI + "/"},
    "redirect_uri in other case": {"redirect_uri": REDIRECT_URI.replace("learn", "LEARN")},
    "redirect_uri over http": {"redirect_uri": REDIRECT_URI.replace("https", "http")},
    "redirect_uri prefix": {"redirect_uri": "https://learn.example.org/call"},
}


@pytest.mark.parametrize("changes", PAGE_CASES.values(), ids=PAGE_CASES.keys())
async def test_what_cannot_go_back_is_a_400_page(
    app: Quart, changes: dict[str, str | None], database_url: str
) -> None:
    answer = await app.test_client().get(
        "/oidc/authorize", query_string=authorize_query(Pkce.new(), **changes)
    )
    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert "This sign-in link can" in await answer.get_data(as_text=True)
    assert len(await audit_events(database_url, "oidc.rejected")) == 1


async def test_a_repeated_redirect_uri_is_a_400_page(app: Quart) -> None:
    query = [*authorize_query(Pkce.new()).items(), ("redirect_uri", "https://evil.example.com/")]
    answer = await app.test_client().get("/oidc/authorize", query_string=query)
    assert answer.status_code == 400 and "Location" not in answer.headers


REDIRECT_CASES = {
    "response_type token": ({"response_type": "token"}, "unsupported_response_type"),
    "no response_type": ({"response_type": None}, "invalid_request"),
    "no PKCE": ({"code_challenge": None}, "invalid_request"),
    "PKCE plain": ({"code_challenge_method": "plain"}, "invalid_request"),
    "PKCE method missing (plain)": ({"code_challenge_method": None}, "invalid_request"),
    "malformed challenge": ({"code_challenge": "short"}, "invalid_request"),
    "no openid scope": ({"scope": "profile email"}, "invalid_scope"),
    "prompt=none, no session": ({"prompt": "none"}, "login_required"),
    "prompt none with login": ({"prompt": "none login"}, "invalid_request"),
    "unknown prompt": ({"prompt": "sometimes"}, "invalid_request"),
    "prompt=select_account": ({"prompt": "select_account"}, "account_selection_required"),
    "bad max_age": ({"max_age": "-1"}, "invalid_request"),
    "response_mode fragment": ({"response_mode": "fragment"}, "invalid_request"),
    "request object": ({"request": "eyJ"}, "request_not_supported"),
    "request_uri": ({"request_uri": "https://learn.example.org/r"}, "request_uri_not_supported"),
    "nonce too long": ({"nonce": "n" * 513}, "invalid_request"),
    "login_hint too long": ({"login_hint": "a" * 255}, "invalid_request"),
    "id_token_hint not a JWT": ({"id_token_hint": "ada"}, "invalid_request"),
    "id_token_hint unsigned": ({"id_token_hint": "e30.e30.sig"}, "invalid_request"),
}
# The reason each refusal is audited with (oidc.rejected; oidc.login_required for the check).
REASONS = {
    "response_type token": "response_type",
    "no response_type": "no_response_type",
    "no PKCE": "pkce",
    "PKCE plain": "pkce",
    "PKCE method missing (plain)": "pkce",
    "malformed challenge": "pkce",
    "no openid scope": "invalid_scope",
    "prompt=none, no session": "login_required",
    "prompt none with login": "prompt",
    "unknown prompt": "prompt",
    "prompt=select_account": "select_account",
    "bad max_age": "max_age",
    "response_mode fragment": "mode",
    "request object": "request",
    "request_uri": "request_uri",
    "nonce too long": "nonce",
    "login_hint too long": "login_hint",
    "id_token_hint not a JWT": "id_token_hint",
    "id_token_hint unsigned": "id_token_hint",
}


@pytest.mark.parametrize(
    ("changes", "error", "reason"),
    [(*REDIRECT_CASES[name], REASONS[name]) for name in REDIRECT_CASES],
    ids=REDIRECT_CASES.keys(),
)
async def test_the_rest_goes_back_to_the_vendor(
    app: Quart, changes: dict[str, str | None], error: str, reason: str, database_url: str
) -> None:
    answer = await app.test_client().get(
        "/oidc/authorize", query_string=authorize_query(Pkce.new(), **changes)
    )
    assert answer.status_code == 303
    params = redirect_params(answer.headers["Location"])
    assert params["error"] == error
    assert params["state"] == "rp-state-1"
    assert params["iss"] == "http://localhost"
    assert "code" not in params
    event = "oidc.login_required" if error == "login_required" else "oidc.rejected"
    (audited,) = await audit_events(database_url, event)
    assert (audited.vendor_key, audited.details["reason"]) == ("learn", reason)


async def test_a_repeated_state_goes_back_without_either(app: Quart) -> None:
    query = [*authorize_query(Pkce.new()).items(), ("state", "other")]
    answer = await app.test_client().get("/oidc/authorize", query_string=query)
    assert redirect_params(answer.headers["Location"])["error"] == "invalid_request"


async def test_prompt_none_with_a_session_answers_at_once(app: Quart, learn: VendorLogin) -> None:
    client = app.test_client()
    await sign_in(client)
    answer = await client.get(
        "/oidc/authorize", query_string=authorize_query(Pkce.new(), prompt="none")
    )
    assert "code" in redirect_params(answer.headers["Location"])


async def test_a_posted_request_becomes_the_same_get(app: Quart) -> None:
    query = authorize_query(Pkce.new())
    answer = await app.test_client().post("/oidc/authorize", form=query)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/oidc/authorize?client_id=learn&")


@pytest.mark.parametrize("path", ["/oidc/authorize", "/oidc/logout"])
async def test_head_does_nothing(app: Quart, path: str, database_url: str) -> None:
    client = app.test_client()
    await sign_in(client)
    answer = await client.head(path, query_string=authorize_query(Pkce.new()))
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, POST"
    assert await audit_events(database_url, "oidc.authorized") == []
    assert await audit_events(database_url, "sign_out") == []

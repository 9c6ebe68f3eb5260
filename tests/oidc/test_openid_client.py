"""A relying party nobody here wrote, in another language: Node's openid-client (with jose)
against a live portal — discovery, authorization with PKCE, the code for tokens, ID-token
validation (signatures too), UserInfo, refresh across `portal keys rotate`, refresh-token
reuse, token revocation (RFC 7009), RP-initiated logout. tests/oidc/rp/relying_party.mjs is
the relying party; its dependencies are pinned by package-lock.json and installed with
`npm ci` when missing."""

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal.audit_models import AuditEvent
from tests.flows import PASSWORD, VendorLogin, csrf_of, live_portal, off_the_loop
from tests.oidc.live_flows import ROTATE_KEYS, portal_command, portal_environment
from tests.oidc.oidc_flows import POST_LOGOUT_URI, REDIRECT_URI, audit_events

RP = Path(__file__).parent / "rp"
pytestmark = [
    pytest.mark.usefixtures("ada"),
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
]


@pytest.fixture(scope="module")
def node_modules() -> Path:
    if not (RP / "node_modules" / "openid-client").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=RP, check=True)
    return RP / "node_modules"


@pytest.fixture
def portal_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path) as url:
        yield url


def signed_in_cookies(portal_url: str) -> str:
    with httpx.Client(base_url=portal_url) as browser:
        form = {"csrf_token": csrf_of(browser.get("/sign-in").text)}
        signed = browser.post("/sign-in", data={**form, "username": "ada", "password": PASSWORD})
        assert signed.status_code == 303
        return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


def relying_party(
    portal_url: str, database_url: str, data_dir: Path, client: VendorLogin, **settings: str
) -> dict[str, Any]:
    """Run tests/oidc/rp/relying_party.mjs for this client (`settings`: its RP_* variables);
    returns what it saw."""
    env = {
        **portal_environment(database_url, data_dir),
        "PORTAL_ISSUER": portal_url,
        "PORTAL_COOKIE": signed_in_cookies(portal_url),
        "RP_CLIENT_ID": client.key,
        "RP_CLIENT_SECRET": client.secret,
        "RP_REDIRECT_URI": REDIRECT_URI,
        "RP_POST_LOGOUT_URI": POST_LOGOUT_URI,
        "ROTATE_COMMAND_0": ROTATE_KEYS[0],
        "ROTATE_COMMAND_ARGS": json.dumps(ROTATE_KEYS[1:]),
        **settings,
    }
    done = subprocess.run(
        ["node", "relying_party.mjs"], cwd=RP, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


def test_openid_client_completes_the_whole_session(
    node_modules: Path, portal_url: str, learn: VendorLogin, database_url: str, tmp_path: Path
) -> None:
    seen = relying_party(portal_url, database_url, tmp_path, learn)
    assert seen["first"]["alg"] == seen["second"]["alg"] == "RS256"  # the default
    claims = seen["claims"]
    assert (claims["iss"], claims["aud"], claims["sub"]) == (portal_url, "learn", "101")
    assert seen["userinfo"]["email"] == "ada@example.org"
    assert seen["first"]["kid"] not in seen["rotated"]
    assert seen["second"]["kid"] in seen["rotated"]
    assert seen["renewedClaims"]["sid"] == claims["sid"] == seen["second"]["sid"]
    assert seen["userinfoAfter"]["sub"] == "101"
    assert seen["reuse"] == "invalid_grant"
    assert seen["afterReuse"] == 401  # the reuse revoked the whole family
    assert seen["afterRevocation"] == "invalid_grant"  # RFC 7009, revoked by the library
    assert seen["logout"]["landed"] == seen["logout"]["expected"]
    assert_signed_out_once(database_url)


def test_a_vendor_set_up_by_the_command_line_alone_completes_the_whole_session(
    node_modules: Path, portal_url: str, database_url: str, tmp_path: Path
) -> None:
    """Issue 21's "done when": a vendor created and configured entirely by `portal vendor`
    (the membership scope, refresh tokens, ES256 ID tokens, its returned fields) signs a member
    in, refreshes and signs out with openid-client set up for ES256."""
    added = portal_command(
        database_url, tmp_path,
        *("vendor", "add", "learn", "--name", "Learn Academy", "--protocol", "oidc"),
        *("--domain", "learn.example.org", "--redirect-uri", REDIRECT_URI, "--json"),
    )  # fmt: skip
    portal_command(
        database_url, tmp_path,
        *("vendor", "set", "learn", "--scopes", "openid profile membership", "--refresh-tokens"),
        *("--id-token-alg", "ES256", "--post-logout-redirect-uri", POST_LOGOUT_URI),
        *("--fields", "ImisId,FirstName,MemberType,PaidThrough"),
    )  # fmt: skip
    client = VendorLogin("learn", json.loads(added)["secret"])
    scope = "openid profile membership offline_access"
    seen = relying_party(
        portal_url, database_url, tmp_path, client, RP_SCOPE=scope, RP_ID_TOKEN_ALG="ES256"
    )
    assert seen["first"]["alg"] == seen["second"]["alg"] == "ES256"
    assert seen["userinfo"] == {
        "sub": "101",
        "given_name": "Ada",
        "imis_id": "101",
        "member_type": "REG",
        "paid_through": "2030-12-31",
    }
    assert seen["second"]["kid"] in seen["rotated"]  # refreshed, with a key published since
    assert seen["renewedClaims"]["sid"] == seen["claims"]["sid"]
    assert seen["logout"]["landed"] == seen["logout"]["expected"]
    assert_signed_out_once(database_url)


def assert_signed_out_once(database_url: str) -> None:
    signed_out = await_events(database_url, "sign_out")
    assert [(e.details["had_session"], e.details["via"]) for e in signed_out] == [
        (True, "OpenID Connect")
    ]


def await_events(database_url: str, event: str) -> list[AuditEvent]:
    return off_the_loop(lambda: asyncio.run(audit_events(database_url, event)))

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

import httpx
import pytest

from portal.models import AuditEvent
from tests.flows import PASSWORD, VendorLogin, csrf_of, live_portal, off_the_loop
from tests.oidc.live_flows import ROTATE_KEYS, portal_environment
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


def test_openid_client_completes_the_whole_session(
    node_modules: Path, portal_url: str, learn: VendorLogin, database_url: str, tmp_path: Path
) -> None:
    env = {
        **portal_environment(database_url, tmp_path),
        "PORTAL_ISSUER": portal_url,
        "PORTAL_COOKIE": signed_in_cookies(portal_url),
        "RP_CLIENT_ID": learn.key,
        "RP_CLIENT_SECRET": learn.secret,
        "RP_REDIRECT_URI": REDIRECT_URI,
        "RP_POST_LOGOUT_URI": POST_LOGOUT_URI,
        "ROTATE_COMMAND_0": ROTATE_KEYS[0],
        "ROTATE_COMMAND_ARGS": json.dumps(ROTATE_KEYS[1:]),
    }
    done = subprocess.run(
        ["node", "relying_party.mjs"], cwd=RP, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout)
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
    signed_out = await_events(database_url, "sign_out")
    assert [(e.details["had_session"], e.details["via"]) for e in signed_out] == [
        (True, "OpenID Connect")
    ]


def await_events(database_url: str, event: str) -> list[AuditEvent]:
    return off_the_loop(lambda: asyncio.run(audit_events(database_url, event)))

"""Each published signing key is served as PEM beside the JWKS (issue 26, 16): PHP cannot build
a key from a JWK's `n` and `e` without ~35 lines of hand-made PEM, so docs/single-logout.md's PHP
example verifies a logout token with `openssl_pkey_get_public` on /oidc/keys/<kid>.pem. The
example itself is run here, by PHP, against a live portal and a logout token it signed."""

import asyncio
import base64
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from quart import Quart

from portal import key_management, signing_keys, single_logout
from portal.settings import Settings
from tests.conftest import FakeClock
from tests.flows import off_the_loop, unit_of_work
from tests.live import live_app

DOCS = Path(__file__).parents[2] / "docs"
PHP = shutil.which("php")
needs_php = pytest.mark.skipif(PHP is None, reason="PHP is not installed (.ci/run installs it)")


def number(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


async def published(app: Quart) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = (await (await app.test_client().get("/oidc/jwks")).get_json())[
        "keys"
    ]
    return keys


async def test_each_published_key_is_served_as_pem(app: Quart) -> None:
    client = app.test_client()
    keys = await published(app)
    assert {key["alg"] for key in keys} == {"RS256", "ES256"}
    for jwk in keys:
        answer = await client.get(f"/oidc/keys/{jwk['kid']}.pem")
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "public, max-age=60"
        assert answer.mimetype == "application/x-pem-file"
        body = await answer.get_data(as_text=False)
        assert isinstance(body, bytes)
        assert body.startswith(b"-----BEGIN PUBLIC KEY-----\n")
        public = load_pem_public_key(body)
        if jwk["kty"] == "RSA":
            assert isinstance(public, rsa.RSAPublicKey)
            found = public.public_numbers()
            assert (found.n, found.e) == (number(jwk["n"]), number(jwk["e"]))
        else:
            assert isinstance(public, ec.EllipticCurvePublicKey)
            point = public.public_numbers()
            assert (point.x, point.y) == (number(jwk["x"]), number(jwk["y"]))


@pytest.mark.parametrize(
    ("kid", "status"),
    [
        ("unknown", 404),
        ("a.b", 404),
        ("x" * 300, 404),
        ("..%2F..%2Fjwks", 404),
        ("é", 404),
        ("%00", 400),  # the portal refuses a NUL anywhere in a request
    ],
)
async def test_a_key_not_published_is_404(app: Quart, kid: str, status: int) -> None:
    await published(app)
    answer = await app.test_client().get(f"/oidc/keys/{kid}.pem")
    assert answer.status_code == status
    assert answer.headers["Cache-Control"] == "no-store"


async def test_a_withdrawn_key_is_gone_from_its_pem_at_once(
    app: Quart, database_url: str, clock: FakeClock, settings: Settings
) -> None:
    (rs256,) = [key["kid"] for key in await published(app) if key["alg"] == "RS256"]
    async with unit_of_work(database_url) as session:
        await key_management.revoke(session, rs256, now=clock(), settings=settings)
    assert (await app.test_client().get(f"/oidc/keys/{rs256}.pem")).status_code == 404


def php_example() -> str:
    """The PHP block of docs/single-logout.md, as a vendor copies it."""
    (block,) = re.findall(r"```php\n(.*?)```", (DOCS / "single-logout.md").read_text(), re.S)
    return str(block)


def logout_token(database_url: str, config: Settings, **changes: Any) -> str:
    async def sign() -> str:
        now = datetime.now(UTC)
        claims = single_logout.logout_claims(
            issuer=config.issuer or "", vendor_key="acme", sid="s" * 32, subject="101",
            jti=single_logout.new_jti(), now=now,
        ) | changes  # fmt: skip
        async with unit_of_work(database_url) as session:
            signed = await signing_keys.sign(
                session, claims, now=now, settings=config, typ=single_logout.LOGOUT_TOKEN_TYPE
            )
        return str(signed)

    return off_the_loop(lambda: asyncio.run(sign()))


def verified(example: Path, token: str, issuer: str) -> Any:
    """What the example's portal_logout_claims() gives: the claims, or None (refused)."""
    driver = example.parent / "driver.php"
    driver.write_text(
        "<?php\nrequire __DIR__ . '/example.php';\n"
        "echo json_encode(portal_logout_claims($argv[1], $argv[2], 'acme'));\n"
    )
    assert PHP is not None
    run = subprocess.run(
        [PHP, str(driver), token, issuer], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0 and not run.stderr, run.stdout + run.stderr
    return json.loads(run.stdout)


@needs_php
def test_the_docs_php_example_verifies_a_logout_token(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    example = tmp_path / "example.php"
    example.write_text(php_example())
    with live_app(settings) as (url, config):
        token = logout_token(database_url, config)
        claims = verified(example, token, url)
        assert (claims["iss"], claims["aud"], claims["sid"]) == (url, "acme", "s" * 32)
        header, payload, signature = token.split(".")
        forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        forged["sid"] = "t" * 32
        changed = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
        assert verified(example, f"{header}.{changed}.{signature}", url) is None
        other_issuer = logout_token(database_url, config, iss="https://another.example")
        assert verified(example, other_issuer, url) is None
        assert verified(example, logout_token(database_url, config, aud="other"), url) is None
        assert verified(example, logout_token(database_url, config, nonce="n"), url) is None
        assert verified(example, logout_token(database_url, config, exp=1000), url) is None
        assert verified(example, "not.a.token", url) is None

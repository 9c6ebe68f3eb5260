"""Every sample of the Enhanced Integration tab (portal/admin/integration.py) is run, as a
vendor would paste it, against a live portal (issue 26, 17): curl, Python, Node.js and PHP
each swap a real token for the member. PHP's handler is run through its branches too: it reads
the secret from $_SERVER (getenv() is empty under PHP-FPM's default clear_env), refuses a
`state` that does not match before it spends the token, tells a wrong secret (401), a disabled
site (403) and a used token (400) apart, and gives up at once on a portal that does not answer."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from portal.admin import integration
from portal.front_ends import SECRET_VARIABLE
from portal.settings import Settings
from tests.flows import VendorLogin, issue_token, unit_of_work
from tests.live import live_app
from tests.ports import reserved_port

pytestmark = pytest.mark.usefixtures("ada")
PHP, NODE, CURL = shutil.which("php"), shutil.which("node"), shutil.which("curl")
STATE = "Zq3-browser-bound-state"


def code(base: str, sample: str) -> str:
    (found,) = [s.code for s in integration.samples(base, "acme") if s.id == sample]
    return found


def run(command: list[str], secret: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, SECRET_VARIABLE: secret, **env}
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=environment)


def member_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stdout + done.stderr
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


class PhpHandler:
    """The PHP sample as a token URL's handler, given the POSTed form and the browser's cookies."""

    def __init__(self, base: str, folder: Path) -> None:
        self.folder = folder
        (folder / "sample.php").write_text(code(base, "php"))
        (folder / "handler.php").write_text(
            "<?php\n$_POST = json_decode($argv[1], true);\n"
            "$_COOKIE = json_decode($argv[2], true);\n"
            "require __DIR__ . '/sample.php';\necho json_encode($member), \"\\n\";\n"
        )

    def post(
        self, form: dict[str, str], secret: str, cookies: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        assert PHP is not None
        cookies = {"portal_state": STATE} if cookies is None else cookies
        handler = str(self.folder / "handler.php")
        return run([PHP, handler, json.dumps(form), json.dumps(cookies)], secret)


@pytest.mark.skipif(PHP is None, reason="PHP is not installed (.ci/run installs it)")
async def test_the_php_sample_checks_state_and_tells_each_failure_apart(
    settings: Settings, acme: VendorLogin, database_url: str, tmp_path: Path
) -> None:
    with live_app(settings) as (url, _):
        php = PhpHandler(url, tmp_path)
        token = await issue_token(database_url)
        form = {"token": token, "state": STATE}

        for refused in ({**form, "state": "another"}, {"token": token}):
            done = php.post(refused, acme.secret)
            assert done.stdout == "This sign-in did not start here: please sign in again."
        assert php.post(form, acme.secret, cookies={}).stdout.startswith("This sign-in did not")

        wrong = php.post(form, "not-the-secret")
        assert "the vendor key or API secret is wrong" in wrong.stdout
        assert "HTTP 401 invalid_client" in wrong.stderr

        member = member_of(php.post(form, acme.secret))  # the token outlived every refusal
        assert (member["ImisId"], member["Email"]) == ("101", "ada@example.org")

        used = php.post(form, acme.secret)
        assert used.stdout == "That sign-in has expired: please sign in again."
        assert "HTTP 400 invalid_token" in used.stderr

        async with unit_of_work(database_url) as session:
            await session.execute(text("UPDATE vendor SET enabled = false"))
        disabled = php.post({**form, "token": await issue_token(database_url)}, acme.secret)
        assert "turned off for this site" in disabled.stdout
        assert "HTTP 403 vendor_disabled" in disabled.stderr
        for done in (wrong, used, disabled):
            assert token not in done.stdout + done.stderr
            assert acme.secret not in done.stdout + done.stderr


@pytest.mark.skipif(PHP is None, reason="PHP is not installed (.ci/run installs it)")
def test_the_php_sample_gives_up_at_once_on_a_portal_that_does_not_answer(
    tmp_path: Path,
) -> None:
    with reserved_port() as port:  # bound, not listening: every connection is refused
        php = PhpHandler(f"http://127.0.0.1:{port}", tmp_path)
        started = time.monotonic()
        done = php.post({"token": "t" * 43, "state": STATE}, "secret")
    assert done.stdout.startswith("Member sign-in is unavailable just now")
    assert "HTTP 0" in done.stderr
    assert time.monotonic() - started < 10


def test_the_php_sample_reads_the_secret_from_server_and_sets_timeouts() -> None:
    php = code("https://sso.example.org", "php")
    assert 'getenv("' not in php  # named in a comment only, as what not to use
    assert f'$_SERVER["{SECRET_VARIABLE}"]' in php
    assert "CURLOPT_CONNECTTIMEOUT" in php and "CURLOPT_TIMEOUT" in php
    assert "hash_equals($state, $posted)" in php


async def test_the_curl_python_and_node_samples_redeem_a_token(
    settings: Settings, acme: VendorLogin, database_url: str, tmp_path: Path
) -> None:
    with live_app(settings) as (url, _):
        token = await issue_token(database_url)
        assert CURL is not None
        curl = run(["bash", "-c", code(url, "curl")], acme.secret, TOKEN=token)
        assert member_of(curl)["ImisId"] == "101"

        token = await issue_token(database_url)  # each sample redeems a token of its own
        python = f"token = {token!r}\n{code(url, 'python')}\nimport json\nprint(json.dumps(member))"
        assert member_of(run([sys.executable, "-c", python], acme.secret))["ImisId"] == "101"

        if NODE is None:
            pytest.skip("Node.js is not installed (.ci/run installs it)")
        script = tmp_path / "sample.mjs"
        script.write_text(
            f"const req = {{ body: {{ token: {json.dumps(await issue_token(database_url))} }} }};\n"
            f"{code(url, 'node')}\nconsole.log(JSON.stringify(member));\n"
        )
        assert member_of(run([NODE, str(script)], acme.secret))["ImisId"] == "101"

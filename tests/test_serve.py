"""The `portal` command as an operator runs it: real processes, the embedded Postgres, Hypercorn."""

import json
import os
import secrets
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.flows import live_portal


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL"))}
    return {**env, "PORTAL_DATA_DIR": str(data_dir), **extra}


def portal(env: dict[str, str], *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portal.cli", *argv],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def get(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_production_without_a_secret_key_refuses_in_one_line(tmp_path: Path, own_port: int) -> None:
    env = environment(tmp_path, PORTAL_ENV="production")
    result = portal(env, "serve", "--port", str(own_port))
    assert result.returncode == 1
    assert result.stderr.startswith("portal: production needs PORTAL_SECRET_KEY")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "postgres").exists()  # refused before touching anything


def test_the_asgi_module_refuses_in_one_line_too(tmp_path: Path) -> None:
    env = environment(tmp_path, PORTAL_ENV="production")
    result = subprocess.run(
        [sys.executable, "-c", "import portal.asgi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "portal: production needs PORTAL_SECRET_KEY of at least 32 random characters with 128 "
        "bits of entropy (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)\n"
    )


def test_a_worker_process_loads_no_migration_code(tmp_path: Path) -> None:
    """A worker of `portal serve` imports portal.asgi and nothing of Alembic, which only the
    parent (checking the schema) and `portal db upgrade` use: each worker starts sooner."""
    loaded = "import sys, portal.asgi; print([m for m in sys.modules if m.startswith('alembic')])"
    result = subprocess.run(
        [sys.executable, "-c", loaded],
        env=environment(tmp_path, PORTAL_ENV="development"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr


def test_commands_and_server_share_the_embedded_database(tmp_path: Path) -> None:
    env = environment(tmp_path / "var")
    assert portal(env, "db", "upgrade").returncode == 0
    assert portal(env, "db", "upgrade").returncode == 0
    added = portal(
        env,
        "vendor",
        "add",
        "acme",
        "--name",
        "Acme Learning",
        "--token-url",
        "https://acme-learning.com/sso/token",
        "--domain",
        "acme-learning.com",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    assert set(json.loads(added.stdout)) == {"key", "secret"}
    rotated = portal(env, "vendor", "rotate-secret", "acme", "--json")
    assert rotated.returncode == 0, rotated.stderr  # a second process sees the first one's vendor

    with live_portal(None, tmp_path / "var", workers=2) as url:
        assert get(f"{url}/healthz") == (200, {"status": "ok"})
        assert get(f"{url}/readyz")[0] == 200
    assert not (tmp_path / "var" / "postgres" / "postmaster.pid").exists()  # Postgres stopped too


@pytest.mark.parametrize(
    ("argv", "reason"),
    [(("serve", "--port", "0"), "--port"), (("serve", "--workers", "0"), "--workers")],
)
def test_serve_refuses_bad_arguments(tmp_path: Path, argv: tuple[str, ...], reason: str) -> None:
    result = portal(environment(tmp_path, PORTAL_ENV="development"), *argv)
    assert result.returncode == 1
    assert reason in result.stderr


def test_an_unusable_data_directory_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = portal(environment(blocker / "var", PORTAL_ENV="development"), "db", "upgrade")
    assert result.returncode == 1
    assert result.stderr.startswith("portal: the embedded Postgres in ")
    assert result.stderr.count("\n") == 1


def raw_request(url: str, target: bytes, user_agent: bytes) -> bytes:
    """One request exactly as written (no client library normalises it); the answer's head."""
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"GET " + target + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
            b"User-Agent: " + user_agent + b"\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer.split(b"\r\n\r\n", 1)[0]


USER_AGENT = 'curl", "status": 200, "path": "/admin/staff'
FORGED = '{"time": "2026-01-01T00:00:00.000+00:00", "level": "INFO", "message": "request"}'


def test_the_access_log_cannot_be_forged_through_a_path_or_a_header(
    database_url: str, tmp_path: Path
) -> None:
    """Hypercorn hands the app the percent-decoded path: %0a would start a line of the
    attacker's. Every line is one JSON object, and the path and user agent are values in it,
    escaped by JSON, on the request's one line."""
    path = "/probe\n" + FORGED + '\r\x1b[2J\x85\u2028"\\'
    forged = urllib.parse.quote(path, safe="/")
    with live_portal(database_url, tmp_path) as url:
        head = raw_request(url, forged.encode(), USER_AGENT.encode())
        assert head.startswith(b"HTTP/1.1 404")
    lines = (tmp_path / "portal.log").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert not any(event.get("time", "").startswith("2026-01-01") for event in events)
    [logged] = [event for event in events if event.get("path", "").startswith("/probe")]
    assert logged["path"] == path
    assert logged["user_agent"] == USER_AGENT
    assert logged["status"] == 404 and logged["route"] is None


def test_no_answer_names_the_server(database_url: str, tmp_path: Path) -> None:
    """Hypercorn's `server: hypercorn-h11` tells an attacker which advisories to try."""
    with live_portal(database_url, tmp_path) as url:
        for path in ("/healthz", "/sign-in", "/no-such-page", "/static/css/portal.css"):
            head = raw_request(url, path.encode(), b"test").lower()
            assert b"\r\nserver:" not in head, path
            assert b"\r\ndate:" in head  # the other header Hypercorn adds is still there


def test_production_without_a_public_url_refuses_in_one_line(tmp_path: Path, own_port: int) -> None:
    key = secrets.token_urlsafe(48)
    env = environment(tmp_path, PORTAL_ENV="production", PORTAL_SECRET_KEY=key)
    result = portal(env, "serve", "--port", str(own_port))
    assert result.returncode == 1
    assert result.stderr == (
        "portal: production needs PORTAL_PUBLIC_URL, the https address members and vendors use "
        "(e.g. https://sso.example.org)\n"
    )
    assert not (tmp_path / "postgres").exists()
    env["PORTAL_PUBLIC_URL"] = "https://sso.example.org/portal"
    result = portal(env, "serve", "--port", str(own_port))
    assert result.returncode == 1
    assert result.stderr.startswith("portal: PORTAL_PUBLIC_URL must be an origin")
    assert result.stderr.count("\n") == 1

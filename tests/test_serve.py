"""The `portal` command as an operator runs it: real processes, the embedded Postgres, Hypercorn."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

TEST_SECRET_KEY = "k" * 48


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL"))}
    return {**env, "PORTAL_DATA_DIR": str(data_dir), **extra}


def portal(env: dict[str, str], *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portal.cli", *argv],
        env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def get(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def wait_for(url: str, process: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.communicate()}")
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer in {seconds}s")


def test_production_without_a_secret_key_refuses_in_one_line(tmp_path: Path) -> None:
    env = environment(tmp_path, PORTAL_ENV="production")
    result = portal(env, "serve", "--port", str(free_port()))
    assert result.returncode == 1
    assert result.stderr.startswith("portal: production needs PORTAL_SECRET_KEY")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "postgres").exists()  # refused before touching anything


def test_the_asgi_module_refuses_in_one_line_too(tmp_path: Path) -> None:
    env = environment(tmp_path, PORTAL_ENV="production")
    result = subprocess.run(
        [sys.executable, "-c", "import portal.asgi"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (
        "portal: production needs PORTAL_SECRET_KEY of at least 32 random characters "
        "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)\n"
    )


def test_commands_and_server_share_the_embedded_database(tmp_path: Path) -> None:
    env = environment(tmp_path / "var")
    assert portal(env, "db", "upgrade").returncode == 0
    assert portal(env, "db", "upgrade").returncode == 0
    added = portal(env, "vendor", "add", "acme", "--name", "Acme Learning",
                   "--token-url", "https://acme-learning.com/sso/token",
                   "--domain", "acme-learning.com", "--json")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert set(json.loads(added.stdout)) == {"key", "secret"}
    rotated = portal(env, "vendor", "rotate-secret", "acme", "--json")
    assert rotated.returncode == 0, rotated.stderr  # a second process sees the first one's vendor

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "portal.cli", "serve", "--port", str(port), "--workers", "2"],
        env={**env, "PORTAL_SECRET_KEY": TEST_SECRET_KEY},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", server)
        assert get(f"http://127.0.0.1:{port}/healthz") == (200, {"status": "ok"})
        assert get(f"http://127.0.0.1:{port}/readyz")[0] == 200
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert not (tmp_path / "var" / "postgres" / "postmaster.pid").exists()


@pytest.mark.parametrize(
    ("argv", "reason"),
    [(("serve", "--port", "0"), "--port"), (("serve", "--workers", "0"), "--workers")],
)
def test_serve_refuses_bad_arguments(tmp_path: Path, argv: tuple[str, ...], reason: str) -> None:
    result = portal(environment(tmp_path, PORTAL_ENV="development"), *argv)
    assert result.returncode == 1
    assert reason in result.stderr

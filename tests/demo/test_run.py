"""`portal demo` as a newcomer runs it: a real process, the embedded Postgres, Ctrl-C."""

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.demo.browser import Browser
from tests.flows import wait_for
from tests.ports import reserved_ports
from tests.test_serve import environment, portal


@contextmanager
def running_demo(data_dir: Path, port: int, vendor_port: int) -> Iterator[str]:
    """`portal demo` until the block ends, then Ctrl-C; yields what it printed."""
    log = data_dir.parent / f"demo-{vendor_port}.log"
    argv = ["demo", "--port", str(port), "--vendor-port", str(vendor_port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "portal.cli", *argv],
            env=environment(data_dir),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process, log, seconds=90)
        wait_for(f"http://localhost:{vendor_port}/", process, log)
        wait_for(f"http://localhost:{vendor_port + 1}/", process, log)
        wait_for(f"http://localhost:{vendor_port + 2}/", process, log)
        wait_for(f"http://localhost:{vendor_port + 3}/", process, log)
        yield log.read_text()
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        returncode = process.wait(timeout=30)
    assert returncode == 0, log.read_text()[-2000:]


def test_demo_serves_portal_and_vendors_stops_on_ctrl_c_and_keeps_its_data(
    tmp_path: Path, own_port: int
) -> None:
    data_dir, port = tmp_path / "var", own_port
    with reserved_ports(4) as vendor_port, running_demo(data_dir, port, vendor_port) as printed:
        # The banner first: no line of the mail sink's start or of any library before it.
        assert printed.splitlines()[0] == f"portal (development)  http://127.0.0.1:{port}/"
        for url in (
            f"http://127.0.0.1:{port}/",
            f"http://localhost:{vendor_port}/",
            f"http://localhost:{vendor_port + 1}/",
            f"http://localhost:{vendor_port + 2}/  (OpenID Connect)",
            f"http://localhost:{vendor_port + 3}/  (SAML 2.0)",
        ):
            assert url in printed
        for sign_in in ("ada, grace, alan", "admin@example.org", "'demo-password'"):
            assert sign_in in printed
        assert httpx.get(f"http://127.0.0.1:{port}/static/css/portal.css").status_code == 200
        # The demo's mail goes to its own SMTP sink, whose catch is a page of the portal.
        assert f"http://127.0.0.1:{port}/dev/mail" in printed
        assert "No mail yet" in httpx.get(f"http://127.0.0.1:{port}/dev/mail").text
        assert "Forgot your password?" in httpx.get(f"http://127.0.0.1:{port}/sign-in").text
        with Browser() as visitor:
            page = visitor.sign_in(f"http://localhost:{vendor_port}/catalogue/event-planning")
            assert 'data-testid="vendor-member">Ada Lovelace<' in page.text
            assert visitor.visited[1].startswith(f"http://127.0.0.1:{port}/sso/signin?")
            # The OpenID Connect vendor, with the same portal session: no second password.
            page = visitor.get(visitor.get(f"http://localhost:{vendor_port + 2}/").link("Sign in"))
            assert 'data-testid="vendor-member">Ada Lovelace<' in page.text
            assert '<th scope="row">sub</th><td>101</td>' in page.text
            # The SAML vendor, too: the portal's answer is a page that posts itself.
            start = visitor.get(f"http://localhost:{vendor_port + 3}/").link("Sign in")
            page = visitor.auto_post(visitor.get(start))
            assert 'data-testid="vendor-member">Ada Lovelace<' in page.text
            assert '<th scope="row">ImisId</th><td>101</td>' in page.text
    terminal = (data_dir.parent / f"demo-{vendor_port}.log").read_text()
    assert f"Acme Learning at http://localhost:{vendor_port}/ is ready" in terminal
    assert f"Community Forum at http://localhost:{vendor_port + 2}/ is ready" in terminal
    assert f"EventHub Conferences at http://localhost:{vendor_port + 3}/ is ready" in terminal
    assert f"The portal at http://127.0.0.1:{port}/ is ready" in terminal
    assert "Running on" not in terminal  # Hypercorn's words, with 127.0.0.1 for localhost
    assert "portal         GET /sign-in → 200" in terminal  # a page a person asked for
    assert "acme-learning  GET /catalogue/event-planning → 200" in terminal
    assert "/static/" not in terminal and "{" not in terminal  # no asset, no JSON line
    # The SMTP sink's connections and the vendors' own requests to the portal: not pages.
    assert "_handle_client" not in terminal and "HTTP Request:" not in terminal
    assert not (data_dir / "postgres" / "postmaster.pid").exists()  # Postgres stopped too
    with socket.socket() as probe:  # the vendor's port is free again (as a server binds it)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", vendor_port))

    added = portal(
        environment(data_dir),
        *("member", "add", "--imis-id", "201", "--username", "mary", "--email", "m@example.org"),
        *("--first-name", "Mary", "--last-name", "Somerville", "--member-type", "REG"),
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr

    # Again, with the vendors on other ports: same data, and the registration follows the port.
    with (
        reserved_ports(4) as other_vendor_port,
        running_demo(data_dir, port, other_vendor_port),
        Browser() as visitor,
    ):
        page = visitor.sign_in(
            f"http://localhost:{other_vendor_port}/", "mary", "a long enough password"
        )
        assert page.url == f"http://localhost:{other_vendor_port}/"
        assert 'data-testid="vendor-member">Mary Somerville<' in page.text
        forum = f"http://localhost:{other_vendor_port + 2}/"  # its redirect URI followed too
        page = visitor.get(visitor.get(forum).link("Sign in"))
        assert (page.url, 'data-testid="vendor-member">Mary Somerville<' in page.text) == (
            forum,
            True,
        )
        # Its SAML metadata imported again: a new key, and the new port's addresses.
        events = f"http://localhost:{other_vendor_port + 3}/"
        page = visitor.auto_post(visitor.get(visitor.get(events).link("Sign in")))
        assert (page.url, 'data-testid="vendor-member">Mary Somerville<' in page.text) == (
            events,
            True,
        )


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (("--vendor-port", "0"), "--vendor-port must be"),
        (("--vendor-port", "65535"), "--vendor-port must be"),
        (("--port", "70000"), "--port must be"),
        (("--port", "9001", "--vendor-port", "9000"), "collides"),
    ],
)
def test_demo_refuses_bad_ports_in_one_line(
    tmp_path: Path, argv: tuple[str, ...], reason: str
) -> None:
    result = portal(environment(tmp_path), "demo", *argv)
    assert result.returncode == 1
    assert reason in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "postgres").exists()  # refused before starting anything


def test_demo_says_which_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = portal(environment(tmp_path), "demo", "--port", str(port))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr

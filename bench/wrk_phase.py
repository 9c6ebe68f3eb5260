"""One phase under wrk (installed when missing): its requests go to phase.lua through files, its
figures come back as one JSON line."""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from figures import Figures

LUA = Path(__file__).with_name("phase.lua")
MARKER = "BENCH-RESULT "
# A request that takes longer than this is a timeout error, not a latency figure.
TIMEOUT = "30s"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    def line(self) -> str:
        fields = [self.method, self.path, self.body, *(f"{n}: {v}" for n, v in self.headers)]
        if any(ch in field for field in fields for ch in "\t\r\n"):
            raise ValueError(f"a request for phase.lua cannot hold a tab or newline: {fields}")
        return "\t".join(fields)


@dataclass(frozen=True)
class Load:
    base_url: str
    connections: int
    seconds: int
    threads: int  # wrk's own threads: one drives far more than the portal serves per core

    def __post_init__(self) -> None:
        if not 1 <= self.threads <= self.connections:
            raise ValueError("wrk needs 1 <= threads <= connections")


def ensure_wrk() -> str:
    """wrk's path; Debian's package is installed when missing (like .ci/run installs chromium)."""
    found = shutil.which("wrk")
    if found is None and install_wrk():
        found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "bench: wrk is missing and could not be installed here; install it "
            "(`sudo apt-get install wrk` on Debian/Ubuntu, `brew install wrk` on macOS)"
        )
    return found


def install_wrk() -> bool:
    """apt-get install wrk, as root or through `sudo -n`; False where neither is at hand."""
    apt_get, sudo = shutil.which("apt-get"), shutil.which("sudo")
    if apt_get is None or (os.geteuid() != 0 and sudo is None):
        return False
    prefix = [] if os.geteuid() == 0 else [str(sudo), "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*prefix, apt_get, "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, capture_output=True).returncode == 0:
        return True
    subprocess.run([*prefix, apt_get, "update", "-q"], env=env, capture_output=True)
    return subprocess.run(install, env=env, capture_output=True).returncode == 0


class Phase:
    """wrk running `requests` against `load` in the background; finish() waits for it."""

    def __init__(
        self,
        load: Load,
        requests: list[Request],
        workdir: Path,
        *,
        expect: int,
        marker: str | None = None,
        once: bool = False,
    ) -> None:
        prefix = f"{workdir}/requests-{os.urandom(4).hex()}-"  # phase.lua adds the thread's number
        for n in range(load.threads):
            share = requests[n :: load.threads] if once else requests[n :: load.threads] or requests
            Path(f"{prefix}{n + 1}").write_text("".join(f"{r.line()}\n" for r in share))
        mode = "once" if once else "rotate"
        script_args = [prefix, mode, str(expect), *([marker] if marker else [])]
        self.process = subprocess.Popen(
            [
                *(ensure_wrk(), "-t", str(load.threads), "-c", str(load.connections)),
                *("-d", f"{load.seconds}s", "--timeout", TIMEOUT, "-s", str(LUA)),
                *(load.base_url, "--", *script_args),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.deadline = load.seconds + 60

    def finish(self) -> Figures:
        try:
            out, err = self.process.communicate(timeout=self.deadline)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise SystemExit("bench: wrk did not finish in time") from None
        lines = [line for line in out.splitlines() if line.startswith(MARKER)]
        if self.process.returncode != 0 or not lines:
            raise SystemExit(f"bench: wrk failed: {(err or out).strip()[-500:]}")
        result: Result = json.loads(lines[-1].removeprefix(MARKER))
        return figures(result)


def figures(result: "Result") -> Figures:
    sockets = result["socket_errors"]
    notes = [f"socket errors: {sockets}"] if any(sockets.values()) else []
    if result["exhausted"]:
        notes.append("the one-time tokens ran out: these figures are not valid")
    return Figures(
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        errors=result["unexpected"] + sum(sockets.values()) + result["exhausted"],
        statuses=result["statuses"],
        notes=notes,
    )


class Result(TypedDict):
    """The line phase.lua prints (latencies in microseconds)."""

    duration_us: int
    requests: int
    p50_us: int
    p99_us: int
    statuses: dict[str, int]
    unexpected: int
    exhausted: int
    socket_errors: dict[str, int]

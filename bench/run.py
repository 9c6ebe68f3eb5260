"""Load benchmark of the portal (issue #11): one command, every path in the same run, at each
worker count; never a timed test. See bench/README.md.

    uv run python bench/run.py [--workers 1 2] [--seconds 10] [--connections 16] [--label before]
    uv run python bench/run.py --smoke    # CI: a few seconds; fails on any error or double use
"""

import argparse
import asyncio
import base64
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import argon2_rate
import browser
import token_pool
from figures import Figures
from portal_process import SETTINGS, Portal, Seed, Server, database
from results import Report, Run, append_table, default_json_path, markdown, write_json
from wrk_phase import Load, Phase, Request, ensure_wrk

BENCH = Path(__file__).resolve().parent
FORM = ("Content-Type", "application/x-www-form-urlencoded")
TOKEN_TTL = int(SETTINGS["PORTAL_TOKEN_TTL_SECONDS"])


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], choices=range(1, 17))
    parser.add_argument("--seconds", type=int, default=10, choices=range(1, 121), metavar="1-120")
    parser.add_argument("--connections", type=int, default=16, choices=range(1, 257), metavar="N")
    parser.add_argument("--members", type=int, choices=range(1, 257), metavar="N (>= connections)")
    parser.add_argument("--label", help="what this run measures, e.g. before (default: commit)")
    parser.add_argument("--json", type=Path, help="where the JSON goes (written even so)")
    parser.add_argument("--no-record", action="store_true", help="nothing in bench/ results")
    parser.add_argument("--smoke", action="store_true", help="1 worker, 2 connections, 1 s")
    args = parser.parse_args()
    if args.smoke:
        args.workers, args.seconds, args.connections, args.members = [1], 1, 2, 2
        args.no_record = True
    args.members = args.members or args.connections
    if args.members < args.connections:
        parser.error("--members must be at least --connections: each connection signs in its own")
    return args


def main() -> int:
    args = arguments()
    ensure_wrk()
    vcpus = len(os.sched_getaffinity(0))
    setup: dict[str, object] = {
        "load_average": round(os.getloadavg()[0], 2),
        "vcpus": vcpus,
        "connections": args.connections,
        "seconds": args.seconds,
        "wrk_threads": wrk_threads(args.connections),
        "members": args.members,
    }
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as temp:
        workdir = Path(temp)
        with database(workdir) as (url, kind):
            setup["database"] = kind
            portal = Portal(url, workdir)
            portal.cli("db", "upgrade")
            with ThreadPoolExecutor(1) as background:  # seeding while the first server boots
                seeding = background.submit(portal.seed, args.members, vcpus)
                runs = [measure(portal, seeding, url, args, n, workdir) for n in args.workers]
            problems = [problem for run in runs for problem in run.problems()]
            if problems:  # its tracebacks say why; the temporary directory goes away
                kept = Path(tempfile.gettempdir()) / f"portal-bench-{os.getpid()}.log"
                shutil.copyfile(portal.log, kept)
                problems.append(f"the portal's log: {kept}")
    report = Report(now(), args.label or commit_subject(), commit(), setup, runs)
    print(markdown(report))
    if args.json or not args.no_record:
        print(f"JSON: {write_json(report, args.json or default_json_path(report, BENCH))}")
    if not args.no_record:
        append_table(report, BENCH / "RESULTS.md")
        print("table appended to bench/RESULTS.md")
    for problem in problems:
        print(f"bench: FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def measure(
    portal: Portal,
    seeding: Future[Seed],
    url: str,
    args: argparse.Namespace,
    workers: int,
    workdir: Path,
) -> Run:
    """Every phase against `portal serve --workers N`, one after the other."""
    with portal.serving(workers) as server:
        seed = seeding.result()
        load = Load(server.base_url, args.connections, args.seconds, wrk_threads(args.connections))
        phases = {"floor": measured(server, lambda: wrk(load, healthz(), workdir, 200))}
        cookies = asyncio.run(browser.signed_in_cookies(server.base_url, seed, args.connections))
        requests = reissues(seed, cookies)
        phases["reissue"] = measured(
            server, lambda: wrk(load, requests, workdir, 200, 'name="token"')
        )
        phases["redemption"], race, redeemed = redemption(server, load, seed, url, workdir, phases)
        pairs = asyncio.run(browser.csrf_pairs(server.base_url, args.connections))
        sign_ins = sign_in_requests(seed, pairs)
        # A wrk thread per connection, each with members of its own: real sign-ins are of
        # different people; two of one name at once are a corner case, not the load.
        own = replace(load, threads=args.connections)
        phases["sign_in"] = measured(server, lambda: wrk(own, sign_ins, workdir, 303))
        stored = asyncio.run(token_pool.password_hash(url, seed.usernames[0]))
        phases["argon2"] = argon2_rate.verify_rate(stored, seed.password, workers, args.seconds)
        phases["flow"] = measured(
            server,
            lambda: asyncio.run(
                browser.whole_flows(server.base_url, seed, args.connections, args.seconds)
            ),
        )
    return Run(workers, phases, race, redeemed)


def wrk_threads(connections: int) -> int:
    """Half the cores at most: one wrk thread sends far more than a portal worker answers, and
    every core wrk takes is one the portal and Postgres do not get."""
    return max(1, min(connections, len(os.sched_getaffinity(0)) // 2))


def measured(server: Server, phase: Callable[[], Figures]) -> Figures:
    """Run a phase with the workers' peak RSS reset before it and read after it."""
    server.reset_peak_rss()
    figures = phase()
    figures.peak_rss_mb = server.peak_rss_mb()
    return figures


def wrk(
    load: Load, requests: list[Request], workdir: Path, expect: int, marker: str | None = None
) -> Figures:
    return Phase(load, requests, workdir, expect=expect, marker=marker).finish()


def healthz() -> list[Request]:
    return [Request("GET", "/healthz")]


def reissues(seed: Seed, cookies: list[str]) -> list[Request]:
    """A signed-in member's browser asked for a token by the vendor: `/sso/signin?vendor=…`."""
    path = f"/sso/signin?{urlencode({'vendor': seed.vendor})}"
    return [Request("GET", path, headers=(("Cookie", cookie),)) for cookie in cookies]


def redemption(
    server: Server, load: Load, seed: Seed, url: str, workdir: Path, phases: dict[str, Figures]
) -> tuple[Figures, browser.Race, int]:
    """Every request a fresh token, each sent once; meanwhile a few tokens are posted twice at
    once. Then the database must hold as redeemed at least every token that got a 200."""
    # No path is faster than /healthz: half as many tokens again as it answered are plenty.
    count = int(phases["floor"].rate * load.seconds * 1.5) + 100
    raced = max(4, min(load.connections, 16))
    asyncio.run(browser.signed_in_cookies(server.base_url, seed, raced))  # the race's sessions
    pool, racing = asyncio.run(token_pool.issue(url, seed, count, raced, TOKEN_TTL))
    auth = "Basic " + base64.b64encode(f"{seed.vendor}:{seed.secret}".encode()).decode()
    headers = (("Authorization", auth), FORM)
    requests = [Request("POST", browser.TOKEN_PATH, urlencode({"token": t}), headers) for t in pool]
    server.reset_peak_rss()
    phase = Phase(load, requests, workdir, expect=200, once=True)
    race = asyncio.run(browser.race(server.base_url, seed, racing, load.seconds / 3))
    figures = phase.finish()
    figures.peak_rss_mb = server.peak_rss_mb()
    return figures, race, asyncio.run(token_pool.redeemed(url, pool))


def sign_in_requests(seed: Seed, pairs: list[tuple[str, str]]) -> list[Request]:
    """Member n signed in by browser n % connections (its CSRF cookie and token): once split
    among one wrk thread per connection, no member is signed in on two connections."""
    requests = []
    for n, username in enumerate(seed.usernames):
        cookie, csrf = pairs[n % len(pairs)]
        form = {"csrf_token": csrf, "username": username, "password": seed.password}
        requests.append(Request("POST", "/sign-in", urlencode(form), (("Cookie", cookie), FORM)))
    return requests


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def git(*args: str) -> str:
    command = shutil.which("git")
    if command is None:
        return ""
    done = subprocess.run([command, *args], cwd=BENCH, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def commit() -> str:
    dirty = " + uncommitted changes" if git("status", "--porcelain") else ""
    return (git("rev-parse", "--short", "HEAD") or "unknown") + dirty


def commit_subject() -> str:
    return git("log", "-1", "--format=%s")[:80] or "unlabelled"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except browser.Unexpected as exc:  # while preparing a phase: nothing to measure
        sys.exit(f"bench: the portal answered {exc}")

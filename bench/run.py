"""Load benchmark of the portal (issue #11): one command, every path in the same run, at each
worker count; never a timed test. See bench/README.md.

    uv run python bench/run.py [--workers 1 2] [--seconds 10] [--connections 16] [--label before]
    uv run python bench/run.py --label before --checkout ../before   # another commit's portal
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
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import browser
import httpx
import oidc_pool
import raw_rates
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
    parser.add_argument(
        "--checkout",
        type=Path,
        help="serve the portal of this checkout, with its own .venv (made by `uv sync` if missing)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.workers, args.seconds, args.connections, args.members = [1], 1, 2, 2
        args.no_record = True
    args.members = args.members or args.connections
    if args.checkout is not None and not (args.checkout / "portal" / "asgi.py").is_file():
        parser.error(f"--checkout {args.checkout}: not a checkout of the portal")
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
            portal = Portal(url, workdir, args.checkout and args.checkout.resolve())
            portal.cli("db", "upgrade")
            # Seeded before anything is measured: its password hashes would take the cores.
            seed = portal.seed(args.members, vcpus)
            runs = [measure(portal, seed, url, args, n, workdir) for n in args.workers]
            problems = [problem for run in runs for problem in run.problems()]
            if problems:  # its tracebacks say why; the temporary directory goes away
                kept = Path(tempfile.gettempdir()) / f"portal-bench-{os.getpid()}.log"
                shutil.copyfile(portal.log, kept)
                problems.append(f"the portal's log: {kept}")
    where = args.checkout or BENCH
    report = Report(now(), args.label or commit_subject(where), commit(where), setup, runs)
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
    seed: Seed,
    url: str,
    args: argparse.Namespace,
    workers: int,
    workdir: Path,
) -> Run:
    """Every phase against `portal serve --workers N`, one after the other, after the bare
    framework's floor with as many workers."""
    threads = wrk_threads(args.connections)
    with portal.serving_bare(workers) as bare:
        load = Load(bare.base_url, args.connections, args.seconds, threads)
        run = Run(workers, {"bare": measured(bare, lambda: wrk(load, healthz(), workdir, 200))})
    phases = run.phases
    with portal.serving(workers) as server:
        load = Load(server.base_url, args.connections, args.seconds, threads)
        phases["floor"] = measured(server, lambda: wrk(load, healthz(), workdir, 200))
        cookies = asyncio.run(browser.signed_in_cookies(server.base_url, seed, args.connections))
        requests = reissues(seed, cookies)
        phases["reissue"] = measured(
            server, lambda: wrk(load, requests, workdir, 200, 'name="token"')
        )
        redemption(run, server, load, seed, url, workdir)
        oidc(run, server, load, seed, url, workdir)
        phases["rs256"] = raw_rates.signing_rate(workers, args.seconds)
        pairs = asyncio.run(browser.csrf_pairs(server.base_url, args.connections))
        sign_ins = sign_in_requests(seed, pairs)
        # A wrk thread per connection, each with members of its own: real sign-ins are of
        # different people; two of one name at once are a corner case, not the load.
        own = replace(load, threads=args.connections)
        phases["sign_in"] = measured(server, lambda: wrk(own, sign_ins, workdir, 303))
        stored = asyncio.run(token_pool.password_hash(url, seed.usernames[0]))
        phases["argon2"] = raw_rates.verify_rate(stored, seed.password, workers, args.seconds)
        phases["flow"] = measured(
            server,
            lambda: asyncio.run(
                browser.whole_flows(server.base_url, seed, args.connections, args.seconds)
            ),
        )
    return run


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


def one_time_count(run: Run, load: Load) -> int:
    """One-time tokens for a phase: no path is faster than /healthz, so half as many again as
    it answered are plenty."""
    return int(run.phases["floor"].rate * load.seconds * 1.5) + 100


def raced_count(load: Load) -> int:
    return max(4, min(load.connections, 16))


def redemption(run: Run, server: Server, load: Load, seed: Seed, url: str, workdir: Path) -> None:
    """Every request a fresh token, each sent once; meanwhile a few tokens are posted twice at
    once. Then the database must hold as redeemed at least every token that got a 200."""
    raced = raced_count(load)
    asyncio.run(browser.signed_in_cookies(server.base_url, seed, raced))  # the race's sessions
    pool, racing = asyncio.run(
        token_pool.issue(url, seed, one_time_count(run, load), raced, TOKEN_TTL)
    )
    auth = basic(seed.vendor, seed.secret)
    headers = (("Authorization", auth), FORM)
    requests = [Request("POST", browser.TOKEN_PATH, urlencode({"token": t}), headers) for t in pool]
    one_time(
        run, "redemption", server, load, workdir, requests, None, racing, browser.redeeming(seed)
    )
    run.used_in_db["redemption"] = asyncio.run(token_pool.redeemed(url, pool))


def oidc(run: Run, server: Server, load: Load, seed: Seed, url: str, workdir: Path) -> None:
    """The OpenID Connect endpoints: discovery and the key set; the code exchange and the
    refresh grant, each code or refresh token used once, a few posted twice at once; UserInfo
    with live access tokens. Afterwards the database must hold as used at least every code or
    refresh token that got a 200."""
    # The signing keys are made on first use (an RSA key takes a while): before the phases, which
    # measure serving and using them.
    browser.expect(httpx.get(f"{server.base_url}/oidc/jwks", timeout=60), 200)
    for key, path, marker in (
        ("discovery", "/.well-known/openid-configuration", '"jwks_uri"'),
        ("jwks", "/oidc/jwks", '"keys"'),
    ):
        gets = [Request("GET", path)]
        run.phases[key] = measured(server, lambda g=gets, m=marker: wrk(load, g, workdir, 200, m))
    auth = (("Authorization", basic(seed.oidc_vendor, seed.oidc_secret)), FORM)
    for kind, form, marker in (
        ("code", code_form, '"id_token"'),
        ("refresh", refresh_form, '"refresh_token"'),  # rotation: a new one in every answer
    ):
        count = one_time_count(run, load)
        issued = asyncio.run(oidc_pool.issue(url, seed, kind, count, raced_count(load), TOKEN_TTL))
        requests = [Request("POST", "/oidc/token", form(raw), auth) for raw in issued.pool]

        def post(client: httpx.AsyncClient, raw: str, form: Callable[[str], str] = form) -> Any:
            creds = (seed.oidc_vendor, seed.oidc_secret)
            return client.post("/oidc/token", content=form(raw), headers=[FORM], auth=creds)

        one_time(run, kind, server, load, workdir, requests, marker, issued.racing, post)
        run.used_in_db[kind] = asyncio.run(oidc_pool.used(url, kind, issued.pool))
    access = asyncio.run(oidc_pool.issue(url, seed, "access", load.connections, 0, TOKEN_TTL))
    requests = [
        Request("GET", "/oidc/userinfo", headers=(("Authorization", f"Bearer {raw}"),))
        for raw in access.pool
    ]
    run.phases["userinfo"] = measured(server, lambda: wrk(load, requests, workdir, 200, '"sub"'))


def code_form(code: str) -> str:
    return urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": oidc_pool.REDIRECT_URI,
            "code_verifier": oidc_pool.VERIFIER,
        }
    )


def refresh_form(token: str) -> str:
    return urlencode({"grant_type": "refresh_token", "refresh_token": token})


def one_time(
    run: Run,
    key: str,
    server: Server,
    load: Load,
    workdir: Path,
    requests: list[Request],
    marker: str | None,
    racing: list[str],
    post: browser.Post,
) -> None:
    """`requests` each sent once under load; a third into the phase, every one of `racing`
    posted twice at once (by `post`), of which exactly one may succeed."""
    server.reset_peak_rss()
    phase = Phase(load, requests, workdir, expect=200, marker=marker, once=True)
    run.races[key] = asyncio.run(browser.race(server.base_url, post, racing, load.seconds / 3))
    run.phases[key] = phase.finish()
    run.phases[key].peak_rss_mb = server.peak_rss_mb()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


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


def git(where: Path, *args: str) -> str:
    command = shutil.which("git")
    if command is None:
        return ""
    done = subprocess.run([command, *args], cwd=where, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def commit(where: Path) -> str:
    """The commit of the portal measured (the checkout's, with --checkout)."""
    dirty = " + uncommitted changes" if git(where, "status", "--porcelain") else ""
    return (git(where, "rev-parse", "--short", "HEAD") or "unknown") + dirty


def commit_subject(where: Path) -> str:
    return git(where, "log", "-1", "--format=%s")[:80] or "unlabelled"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except browser.Unexpected as exc:  # while preparing a phase: nothing to measure
        sys.exit(f"bench: the portal answered {exc}")

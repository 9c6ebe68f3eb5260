"""/metrics of a real `portal serve --workers 2`: counters move with what the workers do, and a
scrape, answered by either worker, sums both workers' counts (prometheus-client's multiprocess
mode, set up by `portal serve`)."""

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from portal import db, metrics
from tests.flows import add_member, add_vendor, issue_token, live_portal

METRICS_TOKEN = "metrics-token-that-is-long-and-random-7Qz3vK9pLm2xR8wT"
REDEMPTIONS = 12
ROUNDS, PER_ROUND = 25, 8


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return float(samples.get((name, tuple(sorted(labels.items()))), 0.0))


def pids_that_answered(log: Path, route: str) -> set[int]:
    events = (json.loads(line) for line in log.read_text().splitlines())
    return {e["pid"] for e in events if e["logger"] == "portal.request" and e["route"] == route}


def healthz(url: str) -> int:
    # A connection of its own each time, so that either worker may accept it.
    return httpx.get(f"{url}/healthz", headers={"Connection": "close"}).status_code


def redeem(url: str, secret: str, token: str) -> int:
    answer = httpx.post(f"{url}/api/sso/user", data={"token": token}, auth=("acme", secret))
    return answer.status_code


def test_two_workers_counts_are_summed(database_url: str, tmp_path: Path) -> None:
    secret = asyncio.run(add_vendor(database_url)).secret
    asyncio.run(add_member(database_url))
    tokens = [asyncio.run(issue_token(database_url)) for _ in range(REDEMPTIONS)]
    with live_portal(database_url, tmp_path, workers=2, PORTAL_METRICS_TOKEN=METRICS_TOKEN) as url:
        before = scrape(url)
        with ThreadPoolExecutor(PER_ROUND) as pool:
            sent = 0
            for _ in range(ROUNDS):  # until both workers have answered some
                assert set(pool.map(healthz, [url] * PER_ROUND)) == {200}
                sent += PER_ROUND
                if len(pids_that_answered(tmp_path / "portal.log", "/healthz")) == 2:
                    break
            statuses = pool.map(lambda token: redeem(url, secret, token), tokens)
            assert set(statuses) == {200}
        after = scrape(url)
    assert len(pids_that_answered(tmp_path / "portal.log", "/healthz")) == 2
    requests = {"method": "GET", "route": "/healthz", "status": "200"}
    moved = value(after, "portal_http_requests_total", **requests)
    assert moved - value(before, "portal_http_requests_total", **requests) == sent
    redeemed = value(after, "portal_tokens_redeemed_total", vendor="acme")
    assert redeemed - value(before, "portal_tokens_redeemed_total", vendor="acme") == REDEMPTIONS
    assert value(after, "portal_db_pool_size") == 2 * db.POOL_SIZE  # each worker's, summed


def test_a_forked_child_writes_under_its_own_process_id() -> None:
    """metrics.ProcessId is asked of the system once, and again in a forked child: a child
    writing under its parent's id would write into its parent's files."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.write(write, b"1" if metrics.ProcessId.current() == os.getpid() else b"0")
        os._exit(0)
    os.waitpid(child, 0)
    assert metrics.ProcessId.current() == os.getpid()
    assert os.read(read, 1) == b"1"

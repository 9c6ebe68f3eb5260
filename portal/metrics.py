"""Prometheus metrics: what they count, and the one call each place that counts makes. /metrics
(portal/observe.py) serves them.

Under `portal serve` every worker is a process of its own. prometheus-client's multiprocess mode
keeps each worker's values in files under PROMETHEUS_MULTIPROC_DIR (which `portal serve` sets up
before any worker starts, since the mode is chosen when prometheus-client is imported), and a
scrape, answered by whichever worker, sums them all. A single process (`portal demo`, the tests)
keeps them in memory."""

import os
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


class ProcessId:
    """This process's id, asked of the system once and again in the child of every fork. In
    multiprocess mode prometheus-client asks for it on every update, to notice a fork (each
    process writes files of its own): os.getpid() is a system call, three per request."""

    value = os.getpid()

    @classmethod
    def forked(cls) -> None:
        cls.value = os.getpid()

    @classmethod
    def current(cls) -> int:
        return cls.value


os.register_at_fork(after_in_child=ProcessId.forked)
if MULTIPROCESS_DIRECTORY in os.environ:
    # Before any metric below is made: every value of this process must share one set of files.
    prometheus_values.ValueClass = prometheus_values.MultiProcessValue(ProcessId.current)  # type: ignore[no-untyped-call]
# Labels hold only values from a short list of our own: a client chooses its method and path,
# and must not be able to grow the number of series without limit.
METHODS = frozenset({"GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"

REQUESTS = Counter(
    "portal_http_requests",
    "Requests answered, by method, route and status",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "portal_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route",
    ["method", "route"],
)
TOKENS_ISSUED = Counter(
    "portal_tokens_issued",
    "One-time tokens issued, by vendor; silent: without a password (the member had a session)",
    ["vendor", "silent"],
)
TOKENS_REDEEMED = Counter("portal_tokens_redeemed", "Tokens redeemed, by vendor", ["vendor"])
TOKENS_REJECTED = Counter(
    "portal_tokens_rejected",
    "Redemptions refused, by vendor and reason (replay: a token redeemed a second time)",
    ["vendor", "reason"],
)
SIGN_INS = Counter(
    "portal_sign_ins",
    "Sign-in attempts, by kind (member, staff), outcome and reason; reason throttled: refused "
    "by the throttle before any password was checked",
    ["kind", "outcome", "reason"],
)
VENDOR_AUTH_FAILURES = Counter(
    "portal_vendor_auth_failures",
    "User-service calls that did not authenticate as a vendor, by reason",
    ["reason"],
)
DB_CONNECTIONS_IN_USE = Gauge(
    "portal_db_connections_in_use",
    "Database connections checked out of the pools of the running workers",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "portal_db_pool_size",
    "Connections the running workers' pools may hold (each keeps those it opened)",
    multiprocess_mode="livesum",
)
IMIS_SECONDS = Histogram(
    "portal_imis_call_duration_seconds",
    "Calls to iMIS, by call and outcome (2xx, 4xx, 5xx, timeout, error)",
    ["call", "outcome"],
)
IMIS_FAILURES = Counter(
    "portal_imis_call_failures",
    "Calls to iMIS that got no usable answer (timeout, error: no HTTP answer, 5xx)",
    ["call", "reason"],
)
SIGN_IN_EVENTS = {"sign_in": "member", "staff.sign_in": "staff"}


_answered: dict[tuple[str, str | None, int], tuple[Any, Any]] = {}


def request_answered(method: str, route: str | None, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"
    # Each series' children looked up once per process (a lookup takes a lock and builds the
    # label tuple): the keys are bounded like the labels, by methods, routes and statuses.
    children = _answered.get((method, route, status))
    if children is None:
        labelled = route or UNMATCHED
        children = _answered[(method, route, status)] = (
            REQUESTS.labels(method, labelled, str(status)),
            REQUEST_SECONDS.labels(method, labelled),
        )
    children[0].inc()
    children[1].observe(seconds)


def audit_event(
    event: str, outcome: str, vendor_key: str | None, details: Mapping[str, Any]
) -> None:
    """Count what an audit event says happened (audit.record calls this for every event, and
    for the anonymous ones it does not record past their cap). Vendor labels are registered
    vendors only: the audit log never puts a made-up key in its vendor column."""
    vendor, reason = vendor_key or "", str(details.get("reason") or "")
    if event == "token.issued":
        TOKENS_ISSUED.labels(vendor, "true" if details.get("silent") else "false").inc()
    elif event == "token.redeemed":
        TOKENS_REDEEMED.labels(vendor).inc()
    elif event in ("token.rejected", "token.replay"):
        TOKENS_REJECTED.labels(vendor, reason).inc()
    elif event in SIGN_IN_EVENTS:
        SIGN_INS.labels(SIGN_IN_EVENTS[event], outcome, reason).inc()
    elif event == "vendor.auth":
        VENDOR_AUTH_FAILURES.labels(reason).inc()


def imis_call(method: str, path: str, outcome: str, seconds: float) -> None:
    """One call to iMIS; `path` loses everything after its second segment (/api/Person/123 is
    /api/Person), so that no member's id becomes a label."""
    call = f"{method} {'/'.join(path.split('/')[:3])}"
    IMIS_SECONDS.labels(call, outcome).observe(seconds)
    if outcome in ("timeout", "error", "5xx"):
        IMIS_FAILURES.labels(call, outcome).inc()


class Snapshot(Collector):
    """Gauges read from the database when /metrics is scraped (one answer for every worker)."""

    def __init__(self, names: Mapping[str, int]) -> None:
        self.names = names

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "portal_login_names_refusing_sign_ins",
            "Login names refusing sign-ins from unknown browsers now: locked (until staff "
            "unlock them) or delayed (a growing wait after failures)",
            labels=["state"],
        )
        for state, count in self.names.items():
            gauge.add_metric([state], count)
        yield gauge


def multiprocess_mode() -> bool:
    return MULTIPROCESS_DIRECTORY in os.environ


def exposition(snapshot: Snapshot | None) -> bytes:
    """The text /metrics answers: every worker's values, then the database's snapshot."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    text = generate_latest(registry)
    if snapshot is not None:
        extra = CollectorRegistry()
        extra.register(snapshot)
        text += generate_latest(extra)
    return text


def worker_stopped() -> None:
    """A worker that stops leaves its counts (they happened) but not its live gauges."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

"""What one phase measured, whoever drove it (wrk, the asyncio driver, the argon2id loop)."""

from dataclasses import dataclass, field


@dataclass
class Figures:
    requests: int  # completed requests (flows, for the whole flow; verifies, for argon2id)
    seconds: float
    p50_ms: float
    p99_ms: float
    # Answers other than the one the phase expects, socket errors and timeouts, one-time tokens
    # that ran out: anything but a clean run of the path under load.
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    peak_rss_mb: list[float] = field(default_factory=list)  # VmHWM of each worker in the phase
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def percentile(timings: list[float], share: float) -> float:
    """The `share` percentile (0-100) of `timings` in seconds, in milliseconds (nearest rank)."""
    if not timings:
        return 0.0
    ordered = sorted(timings)
    rank = max(1, round(len(ordered) * share / 100))
    return ordered[min(rank, len(ordered)) - 1] * 1000

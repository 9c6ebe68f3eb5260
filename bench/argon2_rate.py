"""The raw argon2id verify rate: the ceiling of member sign-in on these cores."""

import time
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, extract_parameters
from figures import Figures, percentile


def verify_rate(password_hash: str, password: str, threads: int, seconds: int) -> Figures:
    """Verify `password` against a stored hash, with that hash's own parameters, on `threads`
    threads at once for `seconds` (argon2-cffi lets go of the GIL: threads use separate cores)."""
    hasher = PasswordHasher.from_parameters(extract_parameters(password_hash))
    deadline = time.monotonic() + seconds

    def loop() -> list[float]:
        timings = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            hasher.verify(password_hash, password)
            timings.append(time.perf_counter() - started)
        return timings

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        timings = [t for done in [pool.submit(loop) for _ in range(threads)] for t in done.result()]
    return Figures(
        requests=len(timings),
        seconds=time.monotonic() - started,
        p50_ms=percentile(timings, 50),
        p99_ms=percentile(timings, 99),
    )

"""CPU-bound steps measured on their own, with the server idle: the ceilings of the paths that
spend most of their time in them. Raw argon2id verifying is member sign-in's; raw RS256 signing
is the token endpoint's (every code exchange and refresh signs an ID token)."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, extract_parameters
from figures import Figures, percentile
from joserfc import jwt
from joserfc.jwk import RSAKey

# What the portal signs: an ID token's claims (portal/oidc/id_tokens.py), with a 2048-bit key
# like those portal/signing_keys.py makes.
ID_TOKEN = {
    "iss": "http://127.0.0.1:8000",
    "sub": "bench-member",
    "aud": "bench-vendor",
    "exp": 2_000_000_000,
    "iat": 1_900_000_000,
    "auth_time": 1_900_000_000,
    "sid": "bench-session-id-of-some-length",
    "at_hash": "bench-at-hash-0123456789",
}


def verify_rate(password_hash: str, password: str, threads: int, seconds: int) -> Figures:
    """Verify `password` against a stored hash, with that hash's own parameters, on `threads`
    threads at once for `seconds` (argon2-cffi lets go of the GIL: threads use separate cores)."""
    hasher = PasswordHasher.from_parameters(extract_parameters(password_hash))
    return rate(lambda: hasher.verify(password_hash, password), threads, seconds)


def signing_rate(threads: int, seconds: int) -> Figures:
    """RS256 signatures of an ID token on `threads` threads (cryptography lets go of the GIL),
    the key opened once, as each portal worker opens its own."""
    key = RSAKey.generate_key(2048, parameters={"kid": "bench"})
    header = {"alg": "RS256", "kid": "bench"}
    return rate(lambda: jwt.encode(header, ID_TOKEN, key), threads, seconds)


def rate(work: Callable[[], object], threads: int, seconds: int) -> Figures:
    """`work` in a loop on `threads` threads at once for `seconds`."""
    deadline = time.monotonic() + seconds

    def loop() -> list[float]:
        timings = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            work()
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

"""argon2id password hashing, always off the event loop."""

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portal.errors import InvalidField

# OWASP's argon2id floor: 19 MiB, two passes, one lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# argon2's least cost (8 KiB, one pass), for the test suite's thousands of accounts. Only the test
# suite switches it on (cheap_hashing_for_tests); no module of portal/ calls that (held by
# tests/auth/test_passwords.py) and production runs no test code, so production hashes with HASHER.
_FOR_TESTS = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_hasher = HASHER
# Each hash is CPU work and 19 MiB of memory: at most one per core at a time in each worker, so a
# burst of sign-ins queues here instead of multiplying memory (more threads than cores would only
# take turns on the same cores anyway).
HASHING = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="argon2id")
T = TypeVar("T")
MIN_LENGTH = 8
MAX_LENGTH = 1024  # long enough for any passphrase, short enough not to be a hashing DoS


class WeakPassword(InvalidField):
    def __init__(self, message: str) -> None:
        super().__init__("password", message)


def check_strength(password: str) -> str:
    """NIST 800-63B: a length floor and nothing else that annoys people into worse passwords."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"password must be at most {MAX_LENGTH} characters")
    return password


async def _hashing(work: Callable[..., T], *args: str | None) -> T:
    return await asyncio.get_running_loop().run_in_executor(HASHING, work, *args)


def cheap_hashing_for_tests(on: bool) -> None:
    """The test suite's switch (this process only): argon2's least cost while on."""
    global _hasher
    _hasher = _FOR_TESTS if on else HASHER


async def hash_password(password: str) -> str:
    return await _hashing(_hasher.hash, password)


async def verify_and_upgrade(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, a new hash of the same password when the stored one was made with other
    parameters than the hasher's, so that raising the parameters upgrades hashes as people sign in).
    With no hash to check it does the same work and answers False, so an unknown account costs
    exactly what a wrong password costs."""
    matches = await _hashing(_verify, password_hash, password)
    if not matches or password_hash is None or not _hasher.check_needs_rehash(password_hash):
        return matches, None
    return True, await hash_password(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        _hasher.verify(password_hash or _dummy_hash(_hasher), password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


@lru_cache(maxsize=2)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not a password anybody has")

"""Signed cookie values (itsdangerous), each checked once per process: a browser sends the same
cookie with every request, and checking it (a key derivation, an HMAC, a decoding) was a good
share of a hot request. A value kept here checked out under that very serializer (its keys and
its salt: a value signed for one purpose is never taken for another), and the same value checks
out the same; its age is checked on every use, as itsdangerous checks it."""

import time
from typing import Any

from itsdangerous import SignatureExpired, URLSafeTimedSerializer

KEPT = 1024  # values per process; past that the kept ones are dropped and checked again


class Checked:
    def __init__(self) -> None:
        self._kept: dict[tuple[URLSafeTimedSerializer, str], tuple[Any, int]] = {}

    def loads(self, serializer: URLSafeTimedSerializer, value: str, max_age: int | None) -> Any:
        """serializer.loads(value, max_age=max_age): the payload, or BadSignature (its
        SignatureExpired included) as itsdangerous raises it. The payload may be shared: copy
        what is changed."""
        key = (serializer, value)
        found = self._kept.get(key)
        if found is None:
            payload, signed = serializer.loads(value, max_age=max_age, return_timestamp=True)
            if len(self._kept) >= KEPT:
                self._kept.clear()
            found = self._kept[key] = (payload, int(signed.timestamp()))
        payload, signed_at = found
        age = int(time.time()) - signed_at
        if max_age is not None and not 0 <= age <= max_age:
            raise SignatureExpired(f"Signature age {age} is outside 0..{max_age} seconds")
        return payload

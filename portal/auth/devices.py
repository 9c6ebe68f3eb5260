"""Device cookies (OWASP): a browser that signed in to an account carries a signed note of it,
and its later attempts on that account are throttled on their own, apart from unknown browsers.
A stranger failing on purpose then cannot keep the member out of their usual browser."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

# Refreshed at every sign-in: a browser unused for six months is an unknown browser again.
LIFETIME_SECONDS = 180 * 24 * 3600


@dataclass(frozen=True)
class Device:
    subject_id: int  # the member or staff account this browser signed in to
    device_id: str


def cookie_name(kind: str, *, production: bool) -> str:
    # __Host-: Secure, host-only and Path=/, so no subdomain can plant or read it.
    return f"__Host-portal_{kind}_device" if production else f"portal_{kind}_device"


def _serializer(kind: str, keys: Sequence[str]) -> URLSafeTimedSerializer:
    """Signs with the last key and accepts any of them (the others are earlier keys)."""
    return URLSafeTimedSerializer(list(keys), salt=f"portal-{kind}-device")


def issue(kind: str, subject_id: int, secret_key: str) -> str:
    """A new device cookie value for this account (a new device id each time)."""
    return str(_serializer(kind, [secret_key]).dumps([subject_id, secrets.token_urlsafe(16)]))


def read(
    kind: str, value: str | None, secret_key: str, fallbacks: Sequence[str] = ()
) -> Device | None:
    """The device a cookie names, or None when it is missing, forged or too old. A cookie signed
    with a fallback key is still good: a new secret key forgets no browser."""
    if not value:
        return None
    try:
        subject_id, device_id = _serializer(kind, [*fallbacks, secret_key]).loads(
            value, max_age=LIFETIME_SECONDS
        )
    except (BadSignature, TypeError, ValueError):
        return None
    if not isinstance(subject_id, int) or not isinstance(device_id, str):
        return None
    return Device(subject_id, device_id[:32])

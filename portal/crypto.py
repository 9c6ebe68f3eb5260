"""Random secrets and their digests: sessions ids, one-time tokens and vendor API secrets."""

import hashlib
import secrets

SECRET_BYTES = 32  # 256 bits from the OS CSPRNG


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def digest(value: str) -> str:
    """SHA-256 suffices for these: each is 256 random bits, there is nothing to brute-force."""
    return hashlib.sha256(value.encode()).hexdigest()

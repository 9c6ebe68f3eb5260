"""Secrets the portal keeps in Postgres (the signing keys' private halves, the key of pairwise
subjects), encrypted with a key derived from PORTAL_SECRET_KEY, so that a copy of the database
alone cannot sign tokens. They open with the secret key or any of its fallbacks, are sealed
anew with the secret key itself, and `reseal` moves them to the current secret key
(`portal keys reseal`, docs/operations.md) before an old one leaves the fallbacks."""

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portal import secret_key
from portal.settings import Settings, SettingsError


class Unopenable(Exception):
    """Sealed with a secret key that is neither PORTAL_SECRET_KEY nor one of its fallbacks."""


def seal(plain: bytes, settings: Settings) -> str:
    return _sealer(_secrets(settings)).encrypt(plain).decode()


def unseal(sealed: str, settings: Settings) -> bytes:
    try:
        return _sealer(_secrets(settings)).decrypt(sealed.encode())
    except InvalidToken:
        raise Unopenable from None


def opens(sealed: str, settings: Settings) -> bool:
    """Whether `unseal` would succeed: a decryption only, cheap (microseconds)."""
    try:
        unseal(sealed, settings)
    except Unopenable:
        return False
    return True


def reseal(sealed: str, settings: Settings) -> str:
    """The same secret, sealed with PORTAL_SECRET_KEY itself (opened with any fallback)."""
    try:
        return _sealer(_secrets(settings)).rotate(sealed.encode()).decode()
    except InvalidToken:
        raise Unopenable from None


def fingerprint(settings: Settings) -> str:
    """Names the secret keys these settings open with, for caches of what they opened (so a
    process never reuses what other secret keys opened). A digest: the keys stay unrepeated."""
    return hashlib.sha256("\n".join(_secrets(settings)).encode()).hexdigest()


def _secrets(settings: Settings) -> tuple[str, ...]:
    # Outside development a missing secret key would mean a throwaway one, and keys sealed with
    # it that `portal serve` could never open.
    if not settings.secret_key and not settings.development:
        raise SettingsError(
            "PORTAL_SECRET_KEY is needed: the stored keys are sealed with it (give this command "
            "the one `portal serve` uses)"
        )
    # The current key first: MultiFernet seals with its first key and opens with any.
    return (secret_key.in_use(settings), *settings.fallback_keys)


@functools.lru_cache(maxsize=8)
def _sealer(secrets_in_order: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_derive(secret)) for secret in secrets_in_order])


def _derive(secret: str) -> bytes:
    # The derivation the first sealed signing keys used, kept so that they still open.
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal signing keys")
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))

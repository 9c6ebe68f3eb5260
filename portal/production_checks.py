"""What production refuses to serve with (`portal serve`, create_app): a secret an attacker could
know or guess (PORTAL_SECRET_KEY, its fallbacks, the pairwise secret, the metrics token must be
long enough, and random enough, that nobody guesses them), or no public URL."""

import math
from collections import Counter

from portal.settings import Settings, SettingsError

MIN_SECRET_KEY_LENGTH = 32
# Cookies signed with a key that can be guessed can be forged: 128 bits is out of reach.
MIN_SECRET_KEY_BITS = 128


def check_can_serve(settings: Settings) -> None:
    """Refuse to serve production with a key an attacker could know or guess."""
    if settings.env != "production":
        return
    if not strong(settings.secret_key):
        raise SettingsError(
            "production needs PORTAL_SECRET_KEY of at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters with {MIN_SECRET_KEY_BITS} bits of "
            "entropy (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    # An old key still signs valid cookies, and the metrics token opens /metrics.
    if not all(map(strong, settings.fallback_keys)):
        raise SettingsError(
            "production needs every key in PORTAL_SECRET_KEY_FALLBACKS to be as strong as "
            "PORTAL_SECRET_KEY"
        )
    for name, value in (
        ("PORTAL_PAIRWISE_SECRET", settings.pairwise_secret),
        ("PORTAL_METRICS_TOKEN", settings.metrics_token),
    ):
        if value and not strong(value):
            raise SettingsError(
                f"production needs {name} of at least {MIN_SECRET_KEY_LENGTH} random "
                f"characters with {MIN_SECRET_KEY_BITS} bits of entropy"
            )
    # Links in the dashboard (and what vendors are told) must not follow a request's Host.
    if not settings.public_url:
        raise SettingsError(
            "production needs PORTAL_PUBLIC_URL, the https address members and vendors use "
            "(e.g. https://sso.example.org)"
        )


def strong(key: str) -> bool:
    """Long enough, and random enough, that nobody guesses it."""
    return len(key) >= MIN_SECRET_KEY_LENGTH and entropy_bits(key) >= MIN_SECRET_KEY_BITS


def entropy_bits(text: str) -> float:
    """An estimate of how many bits it takes to guess `text`: the Shannon entropy of its
    characters times their number, over the shortest part it repeats (a key written twice
    is no harder to guess than once). A 64-character `token_urlsafe(48)` scores about 330;
    "a" * 32 scores 0, "ab" * 20 scores 2."""
    unit = text[: (text + text).find(text, 1)] if text else ""
    counts = Counter(unit)
    return sum(n * math.log2(len(unit) / n) for n in counts.values())

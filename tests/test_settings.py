import secrets

import pytest
from pydantic import ValidationError

from portal import production_checks, secret_key
from portal.production_checks import entropy_bits
from portal.settings import Settings, SettingsError, load_settings

STRONG_KEY = secrets.token_urlsafe(48)
PUBLIC = "https://sso.example.org"


def test_production_refuses_a_missing_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError) as caught:
        production_checks.check_can_serve(load_settings(env="production"))
    assert "PORTAL_SECRET_KEY" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "key",
    [
        "short",
        "changeme",
        "x" * 31,
        "a" * 32,
        "ab" * 20,
        "k" * 48,
        "abcdefghijklmnop" * 2,  # 16 letters: 128 bits by their count, 64 as written twice
        "0123456789" * 4,
        "54f7b769a3cd02a8" * 4,  # a random part (secrets.token_hex(8)), repeated: only 64 bits
        "password" + "1" * 30,
    ],
)
def test_production_refuses_a_weak_secret_key(key: str) -> None:
    with pytest.raises(SettingsError) as refused:
        production_checks.check_can_serve(load_settings(env="production", secret_key=key))
    assert str(refused.value) == (
        "production needs PORTAL_SECRET_KEY of at least 32 random characters with 128 bits of "
        "entropy (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
    )
    assert key not in str(refused.value)


def test_production_accepts_what_the_message_suggests_every_time() -> None:
    keys = [secrets.token_urlsafe(48) for _ in range(2000)]
    for key in [keys[0], secrets.token_urlsafe(32), secrets.token_hex(32)]:
        production_checks.check_can_serve(
            load_settings(env="production", secret_key=key, public_url=PUBLIC)
        )
    # The key is a plain string setting with no validator: loading the settings again for each
    # key (2 ms of environment reading, 7-20 s in all) would check nothing the loads above do not.
    loaded = load_settings(env="production", secret_key=keys[0], public_url=PUBLIC)
    for key in keys:
        production_checks.check_can_serve(loaded.model_copy(update={"secret_key": key}))


def test_production_accepts_a_strong_secret_key() -> None:
    settings = load_settings(env="production", secret_key=STRONG_KEY, public_url=PUBLIC)
    production_checks.check_can_serve(settings)
    assert not settings.development


def test_the_entropy_estimate() -> None:
    assert entropy_bits("") == entropy_bits("a" * 32) == 0
    assert entropy_bits("ab" * 20) == entropy_bits("ab") == 2
    assert entropy_bits("abcd") == 8
    assert entropy_bits("abcdabce") == pytest.approx(8 * 2.25)  # not a repetition


def test_production_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    assert load_settings(secret_key=STRONG_KEY).env == "production"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_ENV", "development")
    monkeypatch.setenv("PORTAL_TOKEN_TTL_SECONDS", "120")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/d")
    settings = load_settings()
    assert (settings.token_ttl_seconds, settings.database_url) == (120, "postgresql://u@h/d")


@pytest.mark.parametrize("ttl", [9, 601, "abc"])
def test_token_ttl_is_bounded(ttl: object) -> None:
    with pytest.raises(SettingsError, match="PORTAL_TOKEN_TTL_SECONDS"):
        load_settings(env="development", token_ttl_seconds=ttl)


@pytest.mark.parametrize("ttl", [10, 600])
def test_token_ttl_bounds_are_inclusive(ttl: int) -> None:
    assert load_settings(env="development", token_ttl_seconds=ttl).token_ttl_seconds == ttl


def test_development_keeps_one_signing_key_in_the_data_dir(tmp_path: object) -> None:
    first = secret_key.in_use(Settings(env="development", data_dir=tmp_path))
    again = secret_key.in_use(Settings(env="development", data_dir=tmp_path))
    assert first == again
    assert len(first) >= 48


def test_production_refuses_to_start_without_a_public_url() -> None:
    settings = load_settings(env="production", secret_key=STRONG_KEY)
    with pytest.raises(SettingsError) as refused:
        production_checks.check_can_serve(settings)
    assert str(refused.value) == (
        "production needs PORTAL_PUBLIC_URL, the https address members and vendors use "
        "(e.g. https://sso.example.org)"
    )
    production_checks.check_can_serve(
        load_settings(env="production", secret_key=STRONG_KEY, public_url=PUBLIC)
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://sso.example.org", "must use https"),
        ("sso.example.org", "absolute URL"),
        ("https://sso.example.org/portal", "no path, query or fragment"),
        ("https://sso.example.org/?x=1", "no path, query or fragment"),
        ("https://sso.example.org?", "no path, query or fragment"),
        ("https://sso.example.org/#top", "no path, query or fragment"),
        ("https://admin@sso.example.org", "user info"),
        ("https://sso.example.org:8443", "port other than 443"),
        ("https://intranet", "full domain name"),
        ("https://sso.association.internal", "public top-level domain"),
        ("https://10.0.0.7", "IP address"),
        ("https://localhost:8000", "localhost only in development"),
        ("https://sso.example.org\n", "control or non-ASCII"),
    ],
)
def test_a_public_url_that_cannot_be_the_portals_is_one_line(url: str, says: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(env="production", secret_key=STRONG_KEY, public_url=url)
    assert str(refused.value).startswith("PORTAL_PUBLIC_URL ")
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("url", "development", "origin"),
    [
        ("HTTPS://SSO.Example.ORG/", False, PUBLIC),
        ("https://sso.example.org:443", False, PUBLIC),
        ("http://127.0.0.1:8000", True, "http://127.0.0.1:8000"),
        ("http://localhost:8000/", True, "http://localhost:8000"),
        ("https://sso.example.org", True, PUBLIC),
    ],
)
def test_the_public_url_is_kept_as_one_origin(url: str, development: bool, origin: str) -> None:
    env = "development" if development else "production"
    settings = load_settings(env=env, secret_key=STRONG_KEY, public_url=url)
    assert settings.public_url == origin
    assert settings.public_origin("http://whatever.example:1234") == origin


def test_development_without_a_public_url_uses_the_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PORTAL_PUBLIC_URL", raising=False)
    settings = load_settings(env="development", public_url="")
    assert settings.public_url is None
    assert settings.public_origin("http://127.0.0.1:8000") == "http://127.0.0.1:8000"


def test_the_public_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_PUBLIC_URL", "https://SSO.example.org/")
    assert load_settings(env="production").public_url == PUBLIC


def test_production_refuses_a_weak_fallback_key_or_metrics_token() -> None:
    """An old key still signs cookies that are accepted, and the metrics token opens /metrics:
    each must be as hard to guess as the secret key."""
    strong = {"env": "production", "secret_key": STRONG_KEY, "public_url": PUBLIC}
    with pytest.raises(SettingsError, match="PORTAL_SECRET_KEY_FALLBACKS"):
        production_checks.check_can_serve(
            load_settings(**strong, secret_key_fallbacks=f"{STRONG_KEY}x changeme")
        )
    with pytest.raises(SettingsError, match="PORTAL_METRICS_TOKEN"):
        production_checks.check_can_serve(load_settings(**strong, metrics_token="metrics"))
    fallbacks = f"{secrets.token_urlsafe(48)}, {secrets.token_urlsafe(48)}"
    settings = load_settings(**strong, secret_key_fallbacks=fallbacks, metrics_token=STRONG_KEY)
    production_checks.check_can_serve(settings)
    assert settings.fallback_keys == fallbacks.split(", ")


@pytest.mark.parametrize(
    "help_url", ["javascript:alert(1)", "http://example.org/help", "data:text/html,hi", "/help"]
)
def test_the_help_url_is_https_or_mailto(help_url: str) -> None:
    with pytest.raises(
        ValidationError, match="PORTAL_HELP_URL must start with https:// or mailto:"
    ):
        Settings(help_url=help_url)


def test_an_empty_help_url_is_unset() -> None:
    assert Settings(help_url="").help_url is None


def test_a_logout_lease_holds_two_calls() -> None:
    """The outbox cuts a send off at half its lease: a lease under twice the call's timeout would
    cut every slow vendor's call short."""
    with pytest.raises(ValidationError, match="at least twice PORTAL_LOGOUT_TIMEOUT_SECONDS"):
        Settings(env="development", logout_timeout_seconds=10, logout_lease_seconds=15)
    assert Settings(env="development", logout_timeout_seconds=10, logout_lease_seconds=20)

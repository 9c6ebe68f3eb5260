import secrets

import pytest

from portal.settings import Settings, SettingsError, entropy_bits, load_settings

STRONG_KEY = secrets.token_urlsafe(48)


def test_production_refuses_a_missing_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError) as caught:
        load_settings(env="production").check_can_serve()
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
        secrets.token_hex(8) * 4,  # a real random part, repeated: only 64 bits
        "password" + "1" * 30,
    ],
)
def test_production_refuses_a_weak_secret_key(key: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(env="production", secret_key=key).check_can_serve()
    assert str(refused.value) == (
        "production needs PORTAL_SECRET_KEY of at least 32 random characters with 128 bits of "
        "entropy (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
    )
    assert key not in str(refused.value)


def test_production_accepts_what_the_message_suggests_every_time() -> None:
    for _ in range(2000):
        load_settings(env="production", secret_key=secrets.token_urlsafe(48)).check_can_serve()
    for key in (secrets.token_urlsafe(32), secrets.token_hex(32)):
        load_settings(env="production", secret_key=key).check_can_serve()


def test_production_accepts_a_strong_secret_key() -> None:
    settings = load_settings(env="production", secret_key=STRONG_KEY)
    settings.check_can_serve()
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
    first = Settings(env="development", data_dir=tmp_path).signing_key()
    again = Settings(env="development", data_dir=tmp_path).signing_key()
    assert first == again
    assert len(first) >= 48

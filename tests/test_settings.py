import pytest

from portal.settings import Settings, SettingsError, load_settings


def test_production_refuses_a_missing_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError) as caught:
        load_settings(env="production").check_can_serve()
    assert "PORTAL_SECRET_KEY" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("key", ["short", "changeme", "x" * 31])
def test_production_refuses_a_weak_secret_key(key: str) -> None:
    with pytest.raises(SettingsError, match="PORTAL_SECRET_KEY"):
        load_settings(env="production", secret_key=key).check_can_serve()


def test_production_accepts_a_strong_secret_key() -> None:
    settings = load_settings(env="production", secret_key="k" * 48)
    settings.check_can_serve()
    assert not settings.development


def test_production_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    assert load_settings(secret_key="k" * 48).env == "production"


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

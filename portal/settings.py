"""Every knob of the portal and its default. One object, read from the environment."""

import math
import secrets
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from quart import current_app

from portal.urls import InvalidURL, check_portal_url

MIN_SECRET_KEY_LENGTH = 32
# Cookies signed with a key that can be guessed can be forged: 128 bits is out of reach.
MIN_SECRET_KEY_BITS = 128


class SettingsError(Exception):
    """A setting is missing or wrong; str() is a one-line reason for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore", populate_by_name=True)

    env: Literal["development", "production"] = "production"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "PORTAL_DATABASE_URL")
    )
    secret_key: str = ""
    # The origin members and vendors use (https://sso.example.org): every link to the portal.
    public_url: str | None = None
    data_dir: Path = Path("var")
    association_name: str = "Example Association"

    token_ttl_seconds: int = Field(default=60, ge=10, le=600)
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=24 * 30)

    throttle_free_failures: int = Field(default=5, ge=1)
    throttle_base_delay_seconds: int = Field(default=30, ge=1)
    throttle_max_delay_seconds: int = Field(default=15 * 60, ge=1)
    throttle_lockout_failures: int = Field(default=100, ge=1)
    throttle_address_failures: int = Field(default=100, ge=1)

    api_rate_per_minute: int = Field(default=600, ge=1)
    api_failed_auth_per_minute: int = Field(default=30, ge=1)  # per client network

    # How long old rows are kept before the automatic purge (and `portal purge`) deletes them.
    retention_token_days: int = Field(default=1, ge=1, le=3650)
    retention_session_days: int = Field(default=30, ge=1, le=3650)
    retention_throttle_days: int = Field(default=30, ge=1, le=3650)
    proxy_hops: int = Field(default=0, ge=0, le=5)

    directory: Literal["local", "imis"] = "local"
    imis_url: str | None = None
    imis_username: str | None = None
    imis_password: str | None = None
    imis_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    imis_deadline_seconds: float = Field(default=12.0, gt=0, le=120)
    imis_max_concurrent: int = Field(default=20, ge=1, le=1000)  # per worker process
    imis_field_map: dict[str, str] = Field(default_factory=dict)  # JSON: overrides per field

    @model_validator(mode="after")
    def _public_url_is_an_origin(self) -> "Settings":
        try:
            self.public_url = (
                check_portal_url(self.public_url, development=self.development)
                if self.public_url
                else None
            )
        except InvalidURL as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def development(self) -> bool:
        return self.env == "development"

    def public_origin(self, request_origin: str) -> str:
        """The portal's address as members and vendors use it: PORTAL_PUBLIC_URL, which
        production requires; in development without it, the address the request came to."""
        return self.public_url or request_origin

    def check_can_serve(self) -> None:
        """Refuse to serve production with a key an attacker could know or guess."""
        key = self.secret_key
        if self.env == "production" and (
            len(key) < MIN_SECRET_KEY_LENGTH or entropy_bits(key) < MIN_SECRET_KEY_BITS
        ):
            raise SettingsError(
                "production needs PORTAL_SECRET_KEY of at least "
                f"{MIN_SECRET_KEY_LENGTH} random characters with {MIN_SECRET_KEY_BITS} bits of "
                "entropy (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        # Links in the dashboard (and what vendors are told) must not follow a request's Host.
        if self.env == "production" and not self.public_url:
            raise SettingsError(
                "production needs PORTAL_PUBLIC_URL, the https address members and vendors use "
                "(e.g. https://sso.example.org)"
            )

    def signing_key(self) -> str:
        """The key that signs cookies. Development without one gets a key kept in the data
        directory, so every worker and every restart of `portal demo` agree on it."""
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "development-secret-key"
        if not key_file.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()


def entropy_bits(text: str) -> float:
    """An estimate of how many bits it takes to guess `text`: the Shannon entropy of its
    characters times their number, over the shortest part it repeats (a key written twice
    is no harder to guess than once). A 64-character `token_urlsafe(48)` scores about 330;
    "a" * 32 scores 0, "ab" * 20 scores 2."""
    unit = text[: (text + text).find(text, 1)] if text else ""
    counts = Counter(unit)
    return sum(n * math.log2(len(unit) / n) for n in counts.values())


def current() -> Settings:
    """The running app's settings (create_app keeps them), for views and request-bound code;
    domain and core functions take settings, or a policy made of them, as an argument."""
    result: Settings = current_app.config["PORTAL_SETTINGS"]
    return result


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with `overrides` on top; raises SettingsError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if not where:
        return message
    return f"PORTAL_{where.upper()}: {message}"

"""Every knob of the portal and its default. One object, read from the environment."""

import re
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from quart import current_app

from portal.urls import InvalidURL, check_portal_url


class SettingsError(Exception):
    """A setting is missing or wrong; str() is a one-line reason for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore", populate_by_name=True)

    env: Literal["development", "production"] = Field(
        default="production",
        description="`development` allows vendors on `localhost` and `127.0.0.1` over http, and "
        "test names such as `vendor.test` (protocol §8); `portal demo` is always development",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "PORTAL_DATABASE_URL"),
        description="`postgresql://…`, `postgres://…` or `postgresql+asyncpg://…` (any "
        "PostgreSQL 14 or later). Unset: the embedded PostgreSQL under `PORTAL_DATA_DIR`",
    )
    secret_key: str = Field(
        default="",
        description="Signs cookies. Production needs 32 or more random characters with at least "
        "128 bits of estimated entropy (`python -c 'import secrets; "
        "print(secrets.token_urlsafe(48))'`). Development without one keeps a generated key in "
        "the data directory",
    )
    secret_key_fallbacks: str = Field(
        default="",
        description="Earlier secret keys, separated by spaces or commas: cookies they signed are "
        "still accepted, so a new key signs nobody out (new cookies are signed with "
        "`PORTAL_SECRET_KEY`). Remove an old key once the longest session (`PORTAL_SESSION_MAX_"
        "HOURS`) and device cookie (180 days) it signed are over, or at once after a leak",
    )
    # The origin members and vendors use (https://sso.example.org): every link to the portal.
    public_url: str | None = Field(
        default=None,
        description="The portal's origin as members and vendors reach it, e.g. "
        "`https://sso.example.org`: https, a public domain name, port 443, no path, query or "
        "fragment. Required in production; every link the portal gives out is built from it, "
        "never from a request's `Host`. Development without it uses the address each request "
        "came to",
    )
    issuer: str | None = Field(
        default=None,
        description="The OpenID Connect issuer (`iss` of every ID token, and where "
        "`/.well-known/openid-configuration` is found): the portal's public origin, e.g. "
        "`https://sso.example.org`, with no path. Unset: `PORTAL_PUBLIC_URL`, which production "
        "requires; development without either uses the address each request came to. Changing "
        "it makes every relying party refuse the portal's ID tokens until they are set up again",
    )
    saml_entity_id: str | None = Field(
        default=None,
        description="The portal's SAML entityID, which every SAML vendor has in its settings: a "
        "URI of at most 1024 characters, e.g. `https://sso.example.org/saml/metadata`. Unset: the "
        "issuer followed by `/saml/metadata` (the metadata's own address). Changing it makes "
        "every SAML vendor refuse the portal's responses until they are set up again",
    )
    saml_want_authn_requests_signed: bool = Field(
        default=False,
        description="Whether every SAML vendor's sign-in requests must be signed (the metadata "
        "then says WantAuthnRequestsSigned). Unset: only those of a vendor whose own metadata "
        "says AuthnRequestsSigned; an unsigned request cannot send a member's answer anywhere "
        "but the vendor's registered addresses (docs/saml.md)",
    )
    pairwise_secret: str | None = Field(
        default=None,
        description="Only the first value of the key of pairwise subject identifiers (the "
        "`sub` a vendor with pairwise subjects receives): the portal stores that key in the "
        "database, sealed, the first time it starts, and uses the stored key from then on, so "
        "changing `PORTAL_SECRET_KEY` never changes a `sub`. Unset: the first key is derived "
        "from `PORTAL_SECRET_KEY`, as before it was stored. Once stored, a different value here "
        "is ignored (with a warning in the log) and the variable may be removed; the key is "
        "never rotated (docs/operations.md)",
    )
    data_dir: Path = Field(
        default=Path("var"), description="The embedded database and the development key"
    )
    association_name: str = Field(
        default="Example Association", description="The association's name, shown on every page"
    )
    help_url: str | None = Field(
        default=None,
        description="Where the sign-in page's “Trouble signing in?” link goes: an `https://` "
        "address (the association's help or contact page) or a `mailto:` address. Unset: the "
        "portal's own help page (`/help`), which tells members what to check and to contact the "
        "association",
    )
    renewal_url: str | None = Field(
        default=None,
        description="Where a member refused by a site that is for members in good standing "
        "renews their membership: an `https://` address (the association's renewal page, such as "
        "iMIS's). Unset: the refusal page offers the help link only",
    )

    token_ttl_seconds: int = Field(
        default=60, ge=10, le=600, description="Lifetime of a one-time token, 10 to 600 seconds"
    )
    oidc_access_token_ttl_seconds: int = Field(
        default=300,
        ge=60,
        le=3600,
        description="Lifetime of an OpenID Connect access token (for `/oidc/userinfo`), 60 to "
        "3600 seconds; it also ends with the member's portal session, unless it comes from "
        "offline access",
    )
    oidc_offline_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Days an OpenID Connect refresh token issued for `offline_access` lasts "
        "unused; each use gives one that lasts this long again, with no maximum. It outlives "
        "the member's portal session timing out; signing out, staff ending the member's "
        "sessions, disabling the member or the vendor's refresh switch revoke it",
    )
    session_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="A portal session ends after this long unused"
    )
    session_max_hours: int = Field(
        default=12, ge=1, le=24 * 30, description="A portal session ends this long after it began"
    )

    throttle_free_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins of one login name before delays start"
    )
    throttle_base_delay_seconds: int = Field(
        default=30, ge=1, description="The first delay; it doubles with each further failure"
    )
    throttle_max_delay_seconds: int = Field(
        default=15 * 60, ge=1, description="The longest delay (15 minutes)"
    )
    throttle_lockout_failures: int = Field(
        default=100,
        ge=1,
        description="Consecutive failures after which a login name is locked until staff unlock "
        "it (NIST 800-63B)",
    )
    throttle_address_failures: int = Field(
        default=100,
        ge=1,
        description="Failed sign-ins from one client network (an IPv4 address or an IPv6 /64), "
        "each within an hour of the last, before it waits an hour (browsers with a device cookie "
        "are not held back)",
    )

    staff_mfa: Literal["optional", "required"] = Field(
        default="optional",
        description="Two-factor sign-in for staff (an authenticator app's code after the "
        "password). `optional`: each staff member may turn it on from “Your account”. "
        "`required`: admins must; an admin without it is taken to set it up right after the "
        "password and can open no other dashboard page until it is done",
    )

    api_rate_per_minute: int = Field(
        default=600,
        ge=1,
        description="User-service calls per vendor per minute (only calls that authenticated as "
        "the vendor count)",
    )
    api_failed_auth_per_minute: int = Field(
        default=30,
        ge=1,
        description="User-service calls that fail to authenticate, per client network per "
        "minute, before they get 429",
    )

    # How long old rows are kept before the automatic purge (and `portal purge`) deletes them.
    retention_token_days: int = Field(
        default=1,
        ge=1,
        le=3650,
        description="Days an expired one-time token is kept (and never while its session could "
        "still be alive)",
    )
    retention_session_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days an ended or expired session row is kept (its sign-in and sign-out stay "
        "in the audit log)",
    )
    retention_throttle_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days without a failure after which an unlocked name's or network's failure "
        "count is forgotten. Shorter would let a patient guesser make lockout - 1 guesses that "
        "often, for ever",
    )
    logout_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Each back-channel logout call to a vendor (docs/single-logout.md)",
    )
    logout_retry_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="How long a back-channel logout that meets a network error or a 5xx is "
        "retried, with growing pauses, before it is recorded as failed",
    )
    logout_backoff_seconds: float = Field(
        default=5.0,
        gt=0,
        le=600,
        description="The pause after the first failed back-channel logout call; it doubles "
        "after each further failure, up to 10 minutes",
    )
    logout_lease_seconds: int = Field(
        default=30,
        ge=2,
        le=3600,
        description="How long a worker holds a back-channel logout it is delivering; after a "
        "crash another worker takes it up then. At least twice `PORTAL_LOGOUT_TIMEOUT_SECONDS`",
    )
    proxy_hops: int = Field(
        default=0,
        ge=0,
        le=5,
        description="How many reverse proxies of yours stand in front and add `X-Forwarded-For`/"
        "`-Proto`/`-Host`; only that many hops are believed. Above 0, the proxy's `X-Request-ID` "
        "is taken as the request id",
    )
    metrics_token: str | None = Field(
        default=None,
        description="Turns on `/metrics` (Prometheus) for requests that carry "
        "`Authorization: Bearer <this token>`; unset, `/metrics` is 404. Production needs the "
        "strength of `PORTAL_SECRET_KEY`",
    )

    directory: Literal["local", "imis"] = Field(
        default="local", description="Where members come from: `local` or `imis`"
    )
    imis_url: str | None = Field(
        default=None,
        description="The iMIS site root (https in production); the password grant goes to "
        "`{root}/token`",
    )
    imis_username: str | None = Field(
        default=None,
        description="An iMIS service account that reads every profile (a member's own token "
        "often may not read `/api/User` or `CsContact`); with `PORTAL_IMIS_PASSWORD`, or neither",
    )
    imis_password: str | None = Field(default=None, description="The service account's password")
    imis_timeout_seconds: float = Field(default=5.0, gt=0, le=60, description="Each call to iMIS")
    imis_deadline_seconds: float = Field(
        default=12.0, gt=0, le=120, description="A whole sign-in at iMIS (all its calls together)"
    )
    imis_max_concurrent: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Sign-ins one worker sends to iMIS at once; one more waits at most "
        '`PORTAL_IMIS_TIMEOUT_SECONDS` for its turn, then the member sees "temporarily '
        'unavailable"',
    )
    imis_field_map: dict[str, str] = Field(
        default_factory=dict,
        description="JSON overrides of where catalogue fields come from, e.g. "
        '`{"MemberType": "CsContact.CustomerTypeCode"}`',
    )
    imis_disabled_statuses: str = Field(
        default="",
        description="With `PORTAL_DIRECTORY=imis`: iMIS status codes (the member's `Status`, e.g. "
        "`I` for inactive), separated by spaces or commas, that disable a member in the portal "
        "when iMIS reports one at their sign-in: the sign-in is refused, and their other "
        "sessions, password links and OpenID Connect grants end as when staff disable them. "
        "Staff enable them again. Unset: iMIS's status disables nobody",
    )
    membership_grace_days: int = Field(
        default=0,
        ge=0,
        le=366,
        description="Days after a member's paid-through date in which they still count as a "
        "member in good standing (`IsMember`, the dashboard's Current), for associations that "
        "give members time to renew: 0 to 366. Unset: 0, a member lapses the day after their "
        "paid-through date",
    )

    smtp_url: str | None = Field(
        default=None,
        description="Where the portal sends email (password resets, invitations): "
        "`smtp://host:port` (plain, for a relay on the same host or network), "
        "`smtp+starttls://host:587` or `smtps://host:465`, with `user:password@` before the host "
        "when the server needs a login. Unset: members are not offered “Forgot your password?”, "
        "and a message written meanwhile waits in the outbox: a portal with it set sends it "
        "within four hours of its being written; after that it is given up unsent (and audited)",
    )
    mail_from: str | None = Field(
        default=None,
        description="The sender of the portal's email, e.g. `Example Association "
        "<noreply@example.org>`; required with `PORTAL_SMTP_URL`",
    )
    imis_password_reset_url: str | None = Field(
        default=None,
        description="With `PORTAL_DIRECTORY=imis`: the association's iMIS password-reset page "
        "(https). The sign-in page's “Forgot your password?” goes there, since iMIS owns the "
        "passwords. Unset: the link is not shown",
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_is_smtp(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"(smtp|smtp\+starttls|smtps)://[^\s/?#]+/?", value.strip()):
            raise ValueError(
                "PORTAL_SMTP_URL must be smtp://host:port, smtp+starttls://host:port or "
                "smtps://host:port (with user:password@ before the host if needed)"
            )
        return value.strip() if value else None

    @field_validator("imis_disabled_statuses")
    @classmethod
    def _statuses_are_codes(cls, value: str) -> str:
        for code in listed(value):
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", code):
                raise ValueError(f"{code[:40]!r} is not an iMIS status code, such as I")
        return value

    @field_validator("imis_password_reset_url")
    @classmethod
    def _reset_url_is_https(cls, value: str | None) -> str | None:
        # A plain link members follow from the sign-in page: https only, never javascript:.
        if value and not re.fullmatch(r"https://[^\s<>\"]+", value.strip()):
            raise ValueError("PORTAL_IMIS_PASSWORD_RESET_URL must start with https://")
        return value.strip() if value else None

    @model_validator(mode="after")
    def _mail_has_a_sender(self) -> "Settings":
        if self.smtp_url and not (self.mail_from or "").strip():
            raise ValueError("PORTAL_SMTP_URL needs PORTAL_MAIL_FROM, the sender's address")
        return self

    @field_validator("saml_entity_id")
    @classmethod
    def _entity_id_is_a_uri(cls, value: str | None) -> str | None:
        # SAML Core §8.3.6: an absolute URI of at most 1024 characters.
        if value is None or not value.strip():
            return None
        value = value.strip()
        if len(value) > 1024 or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:\S+", value):
            raise ValueError(
                "PORTAL_SAML_ENTITY_ID must be an absolute URI (https://… or urn:…) of at most "
                "1024 characters, with no spaces"
            )
        return value

    @field_validator("renewal_url")
    @classmethod
    def _renewal_url_is_https(cls, value: str | None) -> str | None:
        # A plain link members follow: never javascript: or data: in a page.
        if value and not re.fullmatch(r"https://[^\s<>\"]+", value.strip()):
            raise ValueError("PORTAL_RENEWAL_URL must start with https://")
        return value.strip() if value else None

    @field_validator("help_url")
    @classmethod
    def _help_url_is_https_or_mailto(cls, value: str | None) -> str | None:
        # Only schemes a browser follows as a plain link: never javascript: or data: in a page.
        if value and not re.fullmatch(r"(https://|mailto:)[^\s<>\"]+", value.strip()):
            raise ValueError("PORTAL_HELP_URL must start with https:// or mailto:")
        return value.strip() if value else None

    @model_validator(mode="after")
    def _public_url_is_an_origin(self) -> "Settings":
        try:
            self.public_url = (
                check_portal_url(self.public_url, development=self.development)
                if self.public_url
                else None
            )
            self.issuer = (
                check_portal_url(self.issuer, development=self.development, what="PORTAL_ISSUER")
                if self.issuer
                else self.public_url
            )
        except InvalidURL as exc:
            raise ValueError(str(exc)) from None
        return self

    @model_validator(mode="after")
    def _logout_lease_outlasts_a_call(self) -> "Settings":
        # The outbox cuts a send off at half its lease (portal/outbox/queue.py: a worker still
        # sending when its lease ends would see another send the same logout); a call must fit.
        if self.logout_lease_seconds < 2 * self.logout_timeout_seconds:
            raise ValueError(
                "PORTAL_LOGOUT_LEASE_SECONDS must be at least twice PORTAL_LOGOUT_TIMEOUT_SECONDS"
            )
        return self

    @property
    def development(self) -> bool:
        return self.env == "development"

    def public_origin(self, request_origin: str) -> str:
        """The portal's address as members and vendors use it: PORTAL_PUBLIC_URL, which
        production requires; in development without it, the address the request came to."""
        return self.public_url or request_origin

    def issuer_for(self, request_origin: str) -> str:
        """The OpenID Connect issuer: PORTAL_ISSUER, else PORTAL_PUBLIC_URL; development without
        either, the address the request came to."""
        return self.issuer or request_origin

    @property
    def fallback_keys(self) -> list[str]:
        """PORTAL_SECRET_KEY_FALLBACKS, oldest or newest first as given."""
        return listed(self.secret_key_fallbacks)

    @property
    def imis_disabled_status_codes(self) -> frozenset[str]:
        """PORTAL_IMIS_DISABLED_STATUSES, compared without regard to case."""
        return frozenset(code.casefold() for code in listed(self.imis_disabled_statuses))


def listed(text: str) -> list[str]:
    """The items of a setting that lists them, separated by spaces or commas."""
    return [item for item in re.split(r"[\s,]+", text) if item]


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

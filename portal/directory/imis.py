"""The iMIS REST client: checks a member's password with iMIS and reads their profile.

A sign-in is: the password grant at ``POST /token`` with the member's credentials, then
``GET /api/User?UserName=…`` for the iMIS ID, ``GET /api/Person/{id}`` (``/api/Party/{id}``
when there is no Person) and ``GET /api/CsContact/{id}`` for membership data.

Which token reads the profile: with a service account configured, always the service
account's (a member's own token is often not allowed to read ``/api/User`` or CsContact,
and one reader per configuration keeps the behaviour predictable); without one, the
member's own. The member's grant always comes first, so a wrong password never costs a
service-account sign-in.

Every call has ``timeout_seconds``; the whole sign-in has ``deadline_seconds``. Anything
other than a clean answer is ``ImisUnavailable``, whose text is a short reason for the
audit log that never holds a password or a token.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from portal import metrics
from portal.directory.imis_fields import (
    DEFAULT_FIELD_MAP,
    check_field_map,
    property_values,
    resolve_fields,
    values_of,
)

__all__ = [
    "DEFAULT_FIELD_MAP",
    "ImisConfig",
    "ImisProfile",
    "ImisUnavailable",
    "WrongCredentials",
    "check",
    "sign_in",
]


@dataclass(frozen=True)
class ImisConfig:
    url: str
    username: str | None = None
    # Why repr=False: configs end up in logs and tracebacks; the password must not.
    password: str | None = field(default=None, repr=False)
    timeout_seconds: float = 5.0
    deadline_seconds: float = 12.0
    field_map: Mapping[str, str] = field(default_factory=lambda: DEFAULT_FIELD_MAP)

    def __post_init__(self) -> None:
        if (self.username is None) != (self.password is None):
            raise ValueError("iMIS service account: give both username and password, or neither")
        check_field_map(self.field_map)

    @property
    def service_account(self) -> tuple[str, str] | None:
        if self.username is None or self.password is None:
            return None
        return self.username, self.password

    def endpoint(self, path: str) -> str:
        return self.url.rstrip("/") + path


@dataclass(frozen=True)
class ImisProfile:
    imis_id: str
    username: str
    fields: dict[str, str | None]


class WrongCredentials(Exception):
    """iMIS refused the username and password (400 ``invalid_grant``)."""


class ImisUnavailable(Exception):
    """iMIS gave no usable answer; ``str()`` is a short reason, free of secrets."""


async def sign_in(
    config: ImisConfig, username: str, password: str, *, client: httpx.AsyncClient | None = None
) -> ImisProfile:
    """Check the member's iMIS credentials and return their profile."""
    async with _http_client(config, client) as http, _deadline(config, "sign-in"):
        reader_token = await _password_grant(http, config, username, password)
        if config.service_account is not None:
            reader_token = await _service_token(http, config, config.service_account)
        return await _read_profile(http, config, reader_token, username)


async def check(config: ImisConfig) -> list[str]:
    """Describe, for ``portal imis check``, what the configured iMIS answers."""
    async with _http_client(config, None) as http, _deadline(config, "check"):
        account = config.service_account
        if account is None:
            await _probe_token_endpoint(http, config)
            return [
                f"iMIS answers at {config.url}: POST /token refused an empty sign-in as expected",
                "no service account configured: each member's own token reads their profile",
            ]
        token = await _service_token(http, config, account)
        sample = await _read_profile(http, config, token, account[0])
        filled = [name for name, value in sample.fields.items() if value is not None]
        return [
            f"iMIS answers at {config.url}",
            f"service account {account[0]!r} signed in (POST /token)",
            f"sample: the service account's own record, iMIS ID {sample.imis_id}, "
            f"has {len(filled)} of {len(sample.fields)} catalogue fields: {', '.join(filled)}",
        ]


@asynccontextmanager
async def _http_client(
    config: ImisConfig, client: httpx.AsyncClient | None
) -> AsyncIterator[httpx.AsyncClient]:
    if client is not None:
        yield client
        return
    async with httpx.AsyncClient(timeout=config.timeout_seconds) as new_client:
        yield new_client


@asynccontextmanager
async def _deadline(config: ImisConfig, activity: str) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(config.deadline_seconds):
            yield
    except TimeoutError:
        raise ImisUnavailable(
            f"{activity} took longer than {config.deadline_seconds:g} s"
        ) from None


async def _call(
    http: httpx.AsyncClient, config: ImisConfig, method: str, path: str, **options: Any
) -> httpx.Response:
    label = f"{method} {path}"
    started, outcome = time.perf_counter(), "error"
    try:
        async with asyncio.timeout(config.timeout_seconds):
            # Why no redirects: a redirect would carry the password or bearer token elsewhere.
            response = await http.request(
                method,
                config.endpoint(path),
                timeout=config.timeout_seconds,
                follow_redirects=False,
                **options,
            )
        outcome = f"{response.status_code // 100}xx"
        return response
    except (TimeoutError, httpx.TimeoutException):
        outcome = "timeout"
        raise ImisUnavailable(f"{label}: no answer within {config.timeout_seconds:g} s") from None
    except httpx.HTTPError as error:
        # Why only the class name and `from None`: the error and its request carry the
        # form body or Authorization header, which must not reach logs or tracebacks.
        raise ImisUnavailable(f"{label}: {type(error).__name__}") from None
    finally:
        metrics.imis_call(method, path, outcome, time.perf_counter() - started)


def _json_object(response: httpx.Response, label: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise ImisUnavailable(f"{label}: HTTP {response.status_code}, not JSON") from None
    if not isinstance(body, dict):
        raise ImisUnavailable(f"{label}: HTTP {response.status_code}, not a JSON object")
    return body


def _oauth_error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


async def _password_grant(
    http: httpx.AsyncClient, config: ImisConfig, username: str, password: str
) -> str:
    form = {"grant_type": "password", "username": username, "password": password}
    response = await _call(http, config, "POST", "/token", data=form)
    if response.status_code == 400 and _oauth_error(response) == "invalid_grant":
        raise WrongCredentials("iMIS refused the username or password")
    if response.status_code != 200:
        raise ImisUnavailable(f"POST /token: HTTP {response.status_code}")
    token = _json_object(response, "POST /token").get("access_token")
    # Why printable ASCII only: the token goes into a header; anything else is not a token.
    if not isinstance(token, str) or not token or not (token.isascii() and token.isprintable()):
        raise ImisUnavailable("POST /token: no usable access_token")
    return token


async def _service_token(
    http: httpx.AsyncClient, config: ImisConfig, account: tuple[str, str]
) -> str:
    username, password = account
    try:
        return await _password_grant(http, config, username, password)
    except WrongCredentials:
        # Why not WrongCredentials: the member's password was right; this is our setup.
        raise ImisUnavailable("POST /token: iMIS refused the service account") from None


async def _probe_token_endpoint(http: httpx.AsyncClient, config: ImisConfig) -> None:
    form = {"grant_type": "password", "username": "", "password": ""}
    response = await _call(http, config, "POST", "/token", data=form)
    if response.status_code != 400 or _oauth_error(response) is None:
        raise ImisUnavailable(f"POST /token: HTTP {response.status_code}, not an OAuth answer")


async def _get(
    http: httpx.AsyncClient, config: ImisConfig, token: str, path: str, **options: Any
) -> dict[str, Any] | None:
    """The JSON object at path, or None when iMIS answers 404."""
    label = f"GET {path}"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    response = await _call(http, config, "GET", path, headers=headers, **options)
    if response.status_code == 404:
        return None
    if response.status_code in (401, 403):
        raise ImisUnavailable(
            f"{label}: HTTP {response.status_code}, the reading account may not read it "
            "(configure a service account, or check its rights)"
        )
    if response.status_code != 200:
        raise ImisUnavailable(f"{label}: HTTP {response.status_code}")
    return _json_object(response, label)


async def _read_profile(
    http: httpx.AsyncClient, config: ImisConfig, token: str, username: str
) -> ImisProfile:
    imis_id, imis_username = await _find_user(http, config, token, username)
    # Why quote: the ID comes from iMIS's answer and must stay one path segment.
    party_path = quote(imis_id, safe="")
    person = await _get(http, config, token, f"/api/Person/{party_path}")
    if person is None:
        person = await _get(http, config, token, f"/api/Party/{party_path}")
    if person is None:
        raise ImisUnavailable(f"GET /api/Party: no party for iMIS ID {imis_id}")
    cs_contact = await _get(http, config, token, f"/api/CsContact/{party_path}")
    documents = {"Person": person, "CsContact": property_values(cs_contact)}
    fields: dict[str, str | None] = {"ImisId": imis_id, "Username": imis_username}
    return ImisProfile(
        imis_id=imis_id,
        username=imis_username,
        fields=fields | resolve_fields(config.field_map, documents),
    )


async def _find_user(
    http: httpx.AsyncClient, config: ImisConfig, token: str, username: str
) -> tuple[str, str]:
    """The member's (iMIS ID, iMIS username)."""
    found = await _get(http, config, token, "/api/User", params={"UserName": username})
    # Why match the name instead of taking the first item: should iMIS ever ignore the
    # filter, the first item is somebody else, and we would sign the member in as them.
    for user in values_of((found or {}).get("Items")):
        if not isinstance(user, dict):
            continue
        name, user_id = user.get("UserName"), user.get("UserId")
        if isinstance(name, str) and name.casefold() == username.casefold():
            if not isinstance(user_id, str | int) or not str(user_id).strip():
                raise ImisUnavailable("GET /api/User: the user has no UserId")
            return str(user_id).strip(), name
    raise ImisUnavailable("GET /api/User: no user with the signed-in username")

"""A fake iMIS site for tests: the ASI REST shapes, served over a real socket.

The answers follow the documented iMIS REST API: OAuth password grant at ``/token``,
``PagedResult`` for ``/api/User``, ``PersonData`` for ``/api/Person`` and ``/api/Party``,
``GenericEntityData`` for ``/api/CsContact``, all with ``$type``/``$values`` envelopes.
"""

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, request

CONTRACTS = "Asi.Contracts"
MEMBERSHIP = "Asi.Soa.Membership.DataContracts"
# Failure mode -> (body, status, content type) answered instead of the real thing.
CANNED_FAILURES = {
    "error400": ('{"error": "unsupported_grant_type"}', 400, "application/json"),
    "error500": ("<html><h1>500 - Internal server error.</h1></html>", 500, "text/html"),
    "malformed": ('{"access_token": "abc', 200, "application/json"),
    "html": ("<!DOCTYPE html><html><title>Sign In</title></html>", 200, "text/html"),
    "unexpected": ('{"Message": "An error has occurred."}', 200, "application/json"),
}
# "slow" answers after slow_seconds; "redirect" sends the client to another site.
FAILURE_MODES = ("ok", "slow", "redirect", *CANNED_FAILURES)


def typed(type_name: str, **values: Any) -> dict[str, Any]:
    return {"$type": f"{type_name}, {CONTRACTS}", **values}


def collection(type_name: str, items: list[Any]) -> dict[str, Any]:
    return {"$type": f"{type_name}, {CONTRACTS}", "$values": items}


def date_value(iso: str) -> dict[str, str]:
    return {"$type": "System.DateTime", "$value": iso}


def person_data(
    imis_id: str,
    name: dict[str, str],
    *,
    emails: Sequence[tuple[str, bool]] = (),
    organization: dict[str, str] | None = None,
    phones: Sequence[tuple[str, bool]] = (),
    addresses: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A PersonData document; address dicts hold AddressData keys plus ``Lines``."""
    person = typed(
        f"{MEMBERSHIP}.PersonData",
        Id=imis_id,
        PartyId=imis_id,
        PersonName=typed(f"{MEMBERSHIP}.PersonNameData", **name),
        Emails=collection(
            f"{MEMBERSHIP}.EmailDataCollection",
            [
                typed(f"{MEMBERSHIP}.EmailData", Address=a, EmailType="_Primary", IsPrimary=p)
                for a, p in emails
            ],
        ),
        Phones=collection(
            f"{MEMBERSHIP}.PhoneDataCollection",
            [
                typed(f"{MEMBERSHIP}.PhoneData", Number=n, PhoneType="Work", IsPrimary=p)
                for n, p in phones
            ],
        ),
        Addresses=collection(
            f"{MEMBERSHIP}.FullAddressDataCollection",
            [_full_address(address) for address in addresses],
        ),
    )
    if organization is not None:
        person["PrimaryOrganization"] = typed(
            f"{MEMBERSHIP}.PrimaryOrganizationData", **organization
        )
    return person


def _full_address(address: dict[str, Any]) -> dict[str, Any]:
    parts = {key: value for key, value in address.items() if key not in ("Lines", "IsPrimary")}
    lines = collection(f"{MEMBERSHIP}.AddressLineDataCollection", address.get("Lines", []))
    return typed(
        f"{MEMBERSHIP}.FullAddressData",
        AddressPurpose="Address",
        IsPrimary=address.get("IsPrimary", False),
        Address=typed(f"{MEMBERSHIP}.AddressData", AddressLines=lines, **parts),
    )


@dataclass
class FakeUser:
    username: str
    password: str
    imis_id: str
    person: dict[str, Any] | None  # None: neither /api/Person nor /api/Party knows the ID
    # CsContact property name -> value (plain, or a {"$type", "$value"} wrapper)
    cs_contact: dict[str, Any] | None = field(default_factory=dict)
    staff: bool = False  # staff tokens may read every profile
    has_person: bool = True  # False: /api/Person 404s, only /api/Party answers


@dataclass
class FakeImis:
    url: str = ""
    users: dict[str, FakeUser] = field(default_factory=dict)
    mode: str = "ok"
    mode_on: str = "/"  # the failure mode applies to paths starting with this
    slow_seconds: float = 3.0
    members_may_read_profiles: bool = True
    ignores_user_filter: bool = False  # answers /api/User with every user, the member last
    issued_tokens: dict[str, str] = field(default_factory=dict)  # token -> username
    readers: list[str] = field(default_factory=list)  # username behind each profile read
    token_forms: list[dict[str, str]] = field(default_factory=list)

    def add(self, user: FakeUser) -> FakeUser:
        self.users[user.username.casefold()] = user
        return user

    def fail(self, mode: str, on: str = "/") -> None:
        assert mode in FAILURE_MODES
        self.mode, self.mode_on = mode, on

    def build_app(self) -> Quart:
        app = Quart(__name__)
        app.before_request(self._failure)
        app.post("/token")(self._token)
        app.get("/api/User")(self._user_query)
        app.get("/api/Person/<imis_id>")(self._person)
        app.get("/api/Party/<imis_id>")(self._party)
        app.get("/api/CsContact/<imis_id>")(self._cs_contact)
        return app

    async def _failure(self) -> Response | None:
        if self.mode == "ok" or not request.path.startswith(self.mode_on):
            return None
        if self.mode == "slow":
            await asyncio.sleep(self.slow_seconds)
            return None
        if self.mode == "redirect":
            return Response("", 302, headers={"Location": "https://elsewhere.invalid/"})
        body, status, content_type = CANNED_FAILURES[self.mode]
        return Response(body, status, content_type=content_type)

    async def _token(self) -> tuple[dict[str, Any], int]:
        form = dict(await request.form)
        self.token_forms.append(form)
        if form.get("grant_type") != "password":
            return {"error": "unsupported_grant_type"}, 400
        user = self.users.get(form.get("username", "").casefold())
        if user is None or form.get("password") != user.password:
            return {
                "error": "invalid_grant",
                "error_description": "The user name or password is incorrect.",
            }, 400
        token = "fake-imis-token-" + secrets.token_urlsafe(24)
        self.issued_tokens[token] = user.username
        return {"access_token": token, "token_type": "bearer", "expires_in": 1799}, 200

    def _reader(self, imis_id: str | None = None) -> FakeUser | tuple[dict[str, str], int]:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.issued_tokens:
            return {"Message": "Authorization has been denied for this request."}, 401
        reader = self.users[self.issued_tokens[token].casefold()]
        reading_other = imis_id is not None and imis_id != reader.imis_id
        if not reader.staff and (reading_other or not self.members_may_read_profiles):
            return {"Message": "Access denied."}, 403
        self.readers.append(reader.username)
        return reader

    def _by_id(self, imis_id: str) -> FakeUser | None:
        return next((user for user in self.users.values() if user.imis_id == imis_id), None)

    async def _user_query(self) -> Any:
        reader = self._reader()
        if not isinstance(reader, FakeUser):
            return reader
        wanted = request.args.get("UserName", "").casefold()
        matches = [u for u in self.users.values() if u.username.casefold() == wanted]
        if self.ignores_user_filter:
            matches = [u for u in self.users.values() if u not in matches] + matches
        items = [
            typed(f"{MEMBERSHIP}.User.UserData", UserId=u.imis_id, UserName=u.username)
            for u in matches
        ]
        return typed(
            "Asi.Soa.Core.DataContracts.PagedResult`1[[Asi.Soa.Membership.DataContracts.User"
            ".UserData, Asi.Contracts]], Asi.Contracts",
            Items=collection("System.Collections.Generic.List`1[[UserData]]", items),
            Offset=0,
            Limit=100,
            Count=len(items),
            TotalCount=len(items),
            HasNext=False,
        )

    async def _person(self, imis_id: str) -> Any:
        return await self._party_document(imis_id, person_only=True)

    async def _party(self, imis_id: str) -> Any:
        return await self._party_document(imis_id, person_only=False)

    async def _party_document(self, imis_id: str, *, person_only: bool) -> Any:
        reader = self._reader(imis_id)
        if not isinstance(reader, FakeUser):
            return reader
        user = self._by_id(imis_id)
        if user is None or user.person is None or (person_only and not user.has_person):
            return {"Message": "Not found."}, 404
        return user.person

    async def _cs_contact(self, imis_id: str) -> Any:
        reader = self._reader(imis_id)
        if not isinstance(reader, FakeUser):
            return reader
        user = self._by_id(imis_id)
        if user is None or user.cs_contact is None:
            return {"Message": "Not found."}, 404
        properties = [
            typed("Asi.Soa.Core.DataContracts.GenericPropertyData", Name=name, Value=value)
            for name, value in {"Id": imis_id, **user.cs_contact}.items()
        ]
        return typed(
            "Asi.Soa.Core.DataContracts.GenericEntityData",
            EntityTypeName="CsContact",
            PrimaryParentEntityTypeName="Party",
            Properties=collection(
                "Asi.Soa.Core.DataContracts.GenericPropertyDataCollection", properties
            ),
        )


@asynccontextmanager
async def serving(app: Quart) -> AsyncIterator[str]:
    """Serve app with Hypercorn on a free 127.0.0.1 port; yields its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # connections queue from now on, so no wait for Hypercorn to be ready
    port = listener.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{listener.detach()}"]
    config.graceful_timeout = 0.2
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await server

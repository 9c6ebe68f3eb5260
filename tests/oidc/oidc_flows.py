"""What an OpenID Connect relying party and a member's browser do, for the tests of tests/oidc."""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

from quart.typing import TestClientProtocol as Client
from quart.wrappers import Response
from sqlmodel import col, select

from portal import access_rules, vendor_redirect_uris
from portal.access_rules import Rule
from portal.audit_models import AuditEvent
from portal.models import Member, Vendor
from portal.oidc.models import OidcGrant
from tests.flows import VendorLogin, add_vendor, page, unit_of_work

REDIRECT_URI = "https://learn.example.org/callback"
POST_LOGOUT_URI = "https://learn.example.org/signed-out"


async def add_oidc_vendor(
    database_url: str,
    key: str = "learn",
    *,
    domain: str = "learn.example.org",
    redirect_uris: tuple[str, ...] = (REDIRECT_URI,),
    post_logout_uris: tuple[str, ...] = (POST_LOGOUT_URI,),
    scopes: str = "openid profile email phone address membership",
    **settings: Any,
) -> VendorLogin:
    """A vendor registered for OpenID Connect (refresh tokens on unless told otherwise)."""
    login = await add_vendor(database_url, key, f"{key.title()} Academy", domain=domain)
    async with unit_of_work(database_url) as session:
        vendor = (await session.exec(select(Vendor).where(Vendor.key == key))).one()
        vendor.protocol, vendor.token_url, vendor.scopes = "oidc", None, scopes
        vendor.refresh_tokens = settings.pop("refresh_tokens", True)
        for name, value in settings.items():
            setattr(vendor, name, value)
        session.add(vendor)
        await vendor_redirect_uris.set_redirect_uris(session, vendor, "login", list(redirect_uris))
        await vendor_redirect_uris.set_redirect_uris(
            session, vendor, "post_logout", list(post_logout_uris)
        )
    return login


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> "Pkce":
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def authorize_query(pkce: Pkce, **changes: str | None) -> dict[str, str]:
    query: dict[str, str | None] = {
        "client_id": "learn",
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email offline_access",
        "state": "rp-state-1",
        "nonce": "rp-nonce-1",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        **changes,
    }
    return {name: value for name, value in query.items() if value is not None}


def redirect_params(location: str, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    """The parameters of an answer at the redirect URI (which it must be)."""
    assert location.startswith(redirect_uri + "?"), location
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def token_form(code: str, pkce: Pkce, **changes: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pkce.verifier,
        **changes,
    }


async def audit_events(database_url: str, event: str) -> list[AuditEvent]:
    async with unit_of_work(database_url) as session:
        query = select(AuditEvent).where(AuditEvent.event == event).order_by(col(AuditEvent.id))
        return list(await session.exec(query))


def basic(login: VendorLogin, secret: str | None = None) -> dict[str, str]:
    pair = f"{login.key}:{login.secret if secret is None else secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


async def confirm_logout(client: Client, asked: Response) -> Response:
    """The member's "Sign out" on the page /oidc/logout asked "Sign out of all sites?" with."""
    return await client.post("/oidc/logout/confirm", form=(await page(asked)).hidden)


async def tokens_for(
    client: Client, login: VendorLogin, scope: str = "openid", key: str = "learn"
) -> dict[str, Any]:
    """A signed-in browser's authorization for `scope`, and the code swapped for tokens."""
    pkce = Pkce.new()
    query = authorize_query(pkce, scope=scope, client_id=key)
    answer = await client.get("/oidc/authorize", query_string=query)
    code = redirect_params(answer.headers["Location"])["code"]
    issued = await client.post("/oidc/token", form=token_form(code, pkce), headers=basic(login))
    assert issued.status_code == 200, await issued.get_json()
    return dict(await issued.get_json())


async def refresh(
    client: Client, login: VendorLogin, refresh_token: str, **changes: str
) -> Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **changes}
    return await client.post("/oidc/token", form=form, headers=basic(login))


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def reasons(database_url: str, event: str) -> list[str]:
    """The audited reasons of `event`, oldest first."""
    return [e.details["reason"] for e in await audit_events(database_url, event)]


async def grant_row(database_url: str) -> OidcGrant:
    """The test's one grant, as stored."""
    async with unit_of_work(database_url) as session:
        return (await session.exec(select(OidcGrant))).one()


async def set_access_rule(database_url: str, rule: Rule, key: str = "learn") -> None:
    """Staff's change of the vendor's access rule (portal/access_rules.py)."""
    async with unit_of_work(database_url) as session:
        vendor = (await session.exec(select(Vendor).where(Vendor.key == key))).one()
        access_rules.apply(vendor, rule)
        session.add(vendor)


async def set_paid_through(database_url: str, day: date, username: str = "ada") -> None:
    """The member's membership paid through `day` (lapsed, or renewed)."""
    async with unit_of_work(database_url) as session:
        member = (await session.exec(select(Member).where(Member.username == username))).one()
        member.paid_through = day
        session.add(member)

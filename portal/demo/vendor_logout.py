"""Step 5 of the reference integration: back-channel sign-out (docs/single-logout.md).

When a member's portal session ends (they signed out at another site, say), the portal POSTs a
signed logout token to our registered back-channel URL. We verify it with the keys the portal
publishes (found through its OpenID Connect discovery document), then end exactly our sessions
that came from that portal session: each of ours keeps the `sid` it signed in with (the member
object's `sid`; an OpenID Connect site's ID token's `sid`), and the token's `sid` names the one
that ended. Not by the member (`sub`): the same member signed in from another browser has
another portal session, which goes on, and so does our session there.

Our sessions are cookies, which a server-to-server call cannot clear: we remember which portal
sessions ended, and a session of ours that came from one of them is ended on its next request.
A real site with server-side sessions would delete them at once instead.
"""

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from quart import Blueprint, Response, current_app, flash, request, session
from quart.typing import ResponseReturnValue

log = logging.getLogger(__name__)
blueprint = Blueprint("vendor_logout", __name__)
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
CLOCK_SKEW = 60  # seconds of disagreement between our clock and the portal's that we accept


@dataclass
class SignOuts:
    """What this site remembers of the portal's logout tokens (in memory: the demo is one
    process; a real site keeps them where all its servers see them)."""

    ended: set[str] = field(default_factory=set)  # the sids of portal sessions that ended
    seen: dict[str, float] = field(default_factory=dict)  # jti -> its exp, to refuse a replay
    keys: KeySet | None = None


class Refused(Exception):
    """The logout token is not one we accept; str() says why (logged, and answered as 400)."""


def sign_outs() -> SignOuts:
    found: SignOuts = current_app.extensions.setdefault("sign_outs", SignOuts())
    return found


@blueprint.post("/sso/backchannel-logout")
async def backchannel_logout() -> ResponseReturnValue:
    form = await request.form
    try:
        claims = await verify(form.get("logout_token", ""))
    except Refused as exc:
        log.warning("logout token refused: %s", exc)
        # Back-Channel Logout 1.0 §2.8: 400, with an error the portal records.
        return {"error": "invalid_request", "error_description": str(exc)}, 400
    if claims is not None:  # None: a repeat of a token we acted on already
        sign_outs().ended.add(str(claims["sid"]))
    return Response("", 200, headers={"Cache-Control": "no-store"})


async def verify(token: str) -> dict[str, Any] | None:
    """The token's claims, once every rule of Back-Channel Logout 1.0 §2.6 holds; None when its
    `jti` was seen before (the portal delivers at least once: a repeat is answered as done)."""
    site = current_app.config["VENDOR_SITE"]
    decoded = await decode(token)
    if decoded.header.get("typ") != "logout+jwt":
        raise Refused("not a logout token (typ)")
    claims = decoded.claims
    now = time.time()
    checks = {
        "iss": claims.get("iss") == site.portal_url,
        "aud": claims.get("aud") == site.key or site.key in (claims.get("aud") or []),
        "events": BACKCHANNEL_EVENT in (claims.get("events") or {}),
        "no nonce": "nonce" not in claims,
        "sub": bool(claims.get("sub")),
        "sid": bool(claims.get("sid")),
        "iat": int(claims.get("iat", 0)) <= now + CLOCK_SKEW,
        "exp": int(claims.get("exp", 0)) > now - CLOCK_SKEW,
        "jti": bool(claims.get("jti")),
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        raise Refused("wrong or missing " + ", ".join(failed))
    seen = sign_outs().seen
    for jti, expires in list(seen.items()):
        if expires < now - CLOCK_SKEW:
            del seen[jti]  # expired tokens are refused anyway: no need to remember them
    if claims["jti"] in seen:
        return None
    seen[claims["jti"]] = float(claims["exp"])
    return claims


async def decode(token: str) -> jwt.Token:
    """Checked against the keys we have, then once more against the keys the portal publishes
    now: a token signed with a key we do not know yet follows a key rotation."""
    problem = "no token"
    for fresh in (False, True):
        try:
            return jwt.decode(token, await portal_keys(fresh=fresh))
        except (JoseError, ValueError) as exc:
            problem = type(exc).__name__
    raise Refused(f"not signed by the portal ({problem})")


async def portal_keys(*, fresh: bool = False) -> KeySet:
    """The portal's published keys: its discovery document names the JWKS URI."""
    state = sign_outs()
    if state.keys is None or fresh:
        portal_url = current_app.config["VENDOR_SITE"].portal_url
        async with httpx.AsyncClient(timeout=10) as client:
            discovery = await client.get(f"{portal_url}/.well-known/openid-configuration")
            jwks = await client.get(discovery.json()["jwks_uri"])
        state.keys = KeySet.import_key_set(jwks.json())
    return state.keys


@blueprint.before_app_request
async def end_sessions_signed_out_elsewhere() -> None:
    """Our session from a portal session the portal told us ended, ends here."""
    if session.get("sid") in sign_outs().ended:
        session.clear()
        association = current_app.config["VENDOR_SITE"].association
        await flash(f"You signed out of {association}, so you are signed out here too.")

"""The demo's OpenID Connect vendor ("Community Forum"): a relying party built the way a vendor
builds one with the library it already has, here Authlib's OAuth 2.0 client over httpx. It knows
the portal by its discovery URL, its client ID (the vendor key) and its secret, nothing more.

Read it top to bottom; each step says why.
1. `start`: discovery, then the authorization request: PKCE S256, a `state` and a `nonce`, all
   three kept in our own session (only this browser can finish the sign-in it started).
2. `callback`: the state first, and the issuer the answer names (RFC 9207); then the code,
   with the PKCE verifier, swapped at the token endpoint (HTTP Basic with our key and secret);
   then the ID token checked against the portal's published keys (joserfc) and Authlib's
   ID-token rules (iss, aud, exp, nonce, at_hash);
   then UserInfo for the claims the association shares with us. We keep the ID token's `sid`:
   the portal's back-channel sign-out (vendor_logout.py) names the portal session that ended.
3. `sign_out`: RP-initiated logout: end our session, then send the member to the portal's
   end_session_endpoint with the ID token as a hint and our registered post-logout address.
Everything else is the same small website as the Enhanced demo vendors (portal/demo/vendor.py).
"""

import hmac
import logging
import secrets
import warnings
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from quart import Blueprint, Quart, abort, flash, redirect, request, session
from quart.typing import ResponseReturnValue

from portal.demo import vendor as site_pages
from portal.demo.vendor import VendorSite, own_page, same_state, signed_in_member, site

with warnings.catch_warnings():
    # Authlib's client asks for the httpx2 fork on import, on every run of any `portal` command;
    # it works with httpx, which the project uses (no second HTTP library).
    warnings.filterwarnings("ignore", "The httpx module is deprecated", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

log = logging.getLogger(__name__)
blueprint = Blueprint("oidc_vendor", __name__)
SCOPE = "openid profile email membership"
START = "/sign-in"  # our sign-in start page, for the portal's "My sites"
CALLBACK = "/oidc/callback"  # our registered redirect URI
SIGNED_OUT = "/signed-out"  # our registered post_logout_redirect_uri
LEEWAY_SECONDS = 60  # clock skew between the portal's host and ours


def create_oidc_vendor_app(site: VendorSite) -> Quart:
    """The Enhanced demo sites' pages and looks, with this module's sign-in and sign-out."""
    return site_pages.create_vendor_app(site, OIDC)


def signin_url(path: str = "/", *, passive: bool = False) -> str:
    """Our own start page: the authorization request is built there, with fresh secrets."""
    return f"{START}?" + urlencode({"next": path, **({"passive": "1"} if passive else {})})


def redirect_uri() -> str:
    return site().site_url + CALLBACK


async def metadata() -> dict[str, Any]:
    """The portal's discovery document: every endpoint, the issuer and the keys' address."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{site().portal_url}/.well-known/openid-configuration")
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found


def oauth_client(**kwargs: Any) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=site().key,
        client_secret=site().secret,
        scope=SCOPE,
        redirect_uri=redirect_uri(),
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method's name
        timeout=10,
        **kwargs,
    )


# Step 1 ------------------------------------------------------------------------------------


@blueprint.get(START)
async def start() -> ResponseReturnValue:
    passive = request.args.get("passive") == "1"
    pending = {
        "state": secrets.token_urlsafe(32),
        "nonce": secrets.token_urlsafe(32),
        "verifier": secrets.token_urlsafe(48),  # PKCE: 64 characters, RFC 7636's 43-128
        "next": own_page(site().site_url + request.args.get("next", "/")),
        "passive": passive,
    }
    provider = await reach_portal(metadata())
    extra = {"prompt": "none"} if passive else {}  # never a form: a code, or login_required
    async with oauth_client() as client:
        url, _ = client.create_authorization_url(
            provider["authorization_endpoint"],
            state=pending["state"],
            code_verifier=pending["verifier"],
            nonce=pending["nonce"],
            **extra,
        )
    session["pending"] = pending
    return redirect(url, 303)


# Step 2 ------------------------------------------------------------------------------------


@blueprint.get(CALLBACK)
async def callback() -> ResponseReturnValue:
    pending = session.pop("pending", None)
    state = request.args.get("state", "")
    if not pending or not same_state(pending["state"], state):
        answered = session.get("answered")
        if answered and signed_in_member() and same_state(answered["state"], state):
            # Back after a sign-in re-visits the portal's sign-in page, which (the member still
            # signed in there) comes back here with a new code for the state used already. The
            # member is signed in here: on to the page, the code left unused (a state works once).
            return redirect(answered["next"], 303)
        abort(400, "This sign-in did not start in this browser, or it is too old. Sign in again.")
    provider = await reach_portal(metadata())
    # RFC 9207: the portal names itself in every answer; another provider's is not ours.
    if request.args.get("iss") != provider["issuer"]:
        abort(400, "This answer did not come from the association's portal. Sign in again.")
    error = request.args.get("error")
    if error == "login_required" and pending["passive"]:
        return redirect(site_pages.with_query(pending["next"], sso="login_required"), 303)
    if error or not request.args.get("code"):
        abort(400, f"The portal did not sign you in ({(error or 'no code')[:60]}). Try again.")
    member, id_token, sid = await reach_portal(sign_in_with(provider, pending))
    session.clear()  # a fresh session at every sign-in, never one a visitor brought along
    session["member"], session["id_token"], session["sid"] = member, id_token, sid
    session["answered"] = {"state": pending["state"], "next": pending["next"]}
    return redirect(pending["next"], 303)


async def sign_in_with(
    provider: dict[str, Any], pending: dict[str, Any]
) -> tuple[dict[str, Any], str, str | None]:
    """The code for tokens, the ID token checked, and the member's claims from UserInfo; with
    the ID token itself (our sign-out's hint) and its `sid` (the portal session)."""
    async with oauth_client() as client:
        token = await client.fetch_token(
            provider["token_endpoint"],
            authorization_response=str(request.url),
            code_verifier=pending["verifier"],
        )
        claims = await check_id_token(provider, token, pending["nonce"])
        response = await client.get(provider["userinfo_endpoint"])
        response.raise_for_status()
        userinfo = response.json()
    if userinfo.get("sub") != claims["sub"]:  # OIDC Core 5.3.2: UserInfo of another member
        abort(502, "The association's portal answered about someone else. Sign in again.")
    return {**userinfo, "sub": claims["sub"]}, token["id_token"], claims.get("sid")


async def check_id_token(provider: dict[str, Any], token: dict[str, Any], nonce: str) -> Any:
    """What Authlib's own OpenID integrations do: verify the signature with the published key
    the header names (joserfc), then the claims with Authlib's rules for a code-flow ID token."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(provider["jwks_uri"])
        response.raise_for_status()
    algorithms = provider.get("id_token_signing_alg_values_supported") or ["RS256"]
    try:
        decoded = jwt.decode(
            token["id_token"],
            KeySet.import_key_set(response.json()),
            registry=JWSRegistry(algorithms=algorithms),
        )
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {"iss": {"essential": True, "value": provider["issuer"]},
             "aud": {"essential": True, "value": site().key}},
            {"nonce": nonce, "client_id": site().key, "access_token": token["access_token"]},
        )  # fmt: skip
        claims.validate(leeway=LEEWAY_SECONDS)
    except (JoseError, KeyError, ValueError) as exc:
        log.warning("the portal's ID token was refused: %s", type(exc).__name__)
        abort(502, "The association's portal sent a sign-in we could not verify. Sign in again.")
    return claims


async def reach_portal(call: Any) -> Any:
    """Await a call to the portal; its failure becomes a page for the member, and a log line
    with the kind of failure, never a token or our secret."""
    try:
        return await call
    except (httpx.HTTPError, OAuth2Error, ValueError, KeyError) as exc:
        log.warning("the portal could not be used: %s", type(exc).__name__)
        abort(502, "We could not reach the association's portal. Try again in a moment.")


# Step 3 ------------------------------------------------------------------------------------


@blueprint.post("/sign-out")
async def sign_out() -> ResponseReturnValue:
    """End our session, then the portal's: the member comes back to our home page, with the
    state we sent, which proves the answer is to this sign-out."""
    id_token = session.get("id_token")
    session.clear()
    provider = await reach_portal(metadata())
    state = secrets.token_urlsafe(16)
    session["logout_state"] = state
    query = {"post_logout_redirect_uri": site().site_url + SIGNED_OUT, "state": state}
    if id_token:
        query["id_token_hint"] = id_token
    else:
        query["client_id"] = site().key
    return redirect(f"{provider['end_session_endpoint']}?{urlencode(query)}", 303)


@blueprint.get(SIGNED_OUT)
async def signed_out() -> ResponseReturnValue:
    """The portal sends the member back here with our state: only then do we say so."""
    expected, state = session.pop("logout_state", ""), request.args.get("state", "")
    if expected and hmac.compare_digest(expected.encode(), state.encode()):
        await flash(f"You are signed out of {site().name} and of {site().association}.")
    return redirect("/", 303)


def display_name(member: dict[str, Any]) -> str:
    """The claims hold what the association shares with us: the best name there is."""
    given_family = " ".join(str(member[k]) for k in ("given_name", "family_name") if member.get(k))
    best = member.get("name") or given_family or member.get("email") or member.get("sub")
    return str(best or "member")


OIDC = site_pages.SignInMethod(blueprint, signin_url, "_claims.html", display_name)

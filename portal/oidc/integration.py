"""What the vendor page shows of an OpenID Connect vendor (portal/front_ends.py's `VendorPage`,
in front_end.py): its Integration tab — the discovery URL, the client ID, and the few lines each
common relying-party library needs (a library reads every endpoint and key from the discovery
document, so nothing else is copied by hand) — and the claims UserInfo would send, in the
returned fields' preview. The dashboard reaches it only through the registry."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from portal import claims as member_claims
from portal import clock, good_standing, settings
from portal.front_ends import SECRET_VARIABLE, Endpoint, Sample
from portal.models import Member, Vendor

DISCOVERY_PATH = "/.well-known/openid-configuration"
EXAMPLE_REDIRECT = "https://your-site.example/oidc/callback"
PAIRWISE_SUB = "(an identifier only this site receives)"


def context(issuer: str, key: str, method: Mapping[str, Any]) -> dict[str, Any]:
    """The Integration tab's endpoints and samples, for the vendor's saved settings (`method`)."""
    offline = [member_claims.OFFLINE_ACCESS] if method["refresh_tokens"] else []
    scopes = [*method["scopes"], *offline]
    return {
        "oidc_endpoints": endpoints(issuer, key),
        "oidc_samples": samples(
            issuer, key, list(method["redirect_uris"]), scopes, public=method["public_client"]
        ),
    }


def claims(vendor: Vendor, member: Member, selection: list[tuple[str, str]]) -> dict[str, Any]:
    """portal/claims.py's mapping, as UserInfo uses it, for every scope the vendor may ask for
    (the chosen fields; UserInfo's claims have their own names, not the output names). `sub` is
    the iMIS ID unless the vendor gets pairwise identifiers (portal/oidc/id_tokens.py)."""
    fields = [field for field, _ in selection]
    found = member_claims.member_claims(
        member,
        fields,
        member_claims.parse_scope(vendor.scopes),
        good_standing.terms(settings.current(), clock.now()),
    )
    return {"sub": PAIRWISE_SUB if vendor.pairwise_subject else member.imis_id, **found}


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + DISCOVERY_PATH


def endpoints(issuer: str, key: str) -> list[Endpoint]:
    return [
        Endpoint("discovery", "Discovery URL", discovery_url(issuer)),
        Endpoint("issuer", "Issuer", issuer),
        Endpoint("client-id", "Client ID", key),
    ]


def samples(
    issuer: str, key: str, redirect_uris: list[str], scopes: list[str], *, public: bool
) -> list[Sample]:
    redirect = redirect_uris[0] if redirect_uris else EXAMPLE_REDIRECT
    scope = " ".join(scopes)
    node = _node(issuer, key, redirect, scope, public)
    dotnet = _dotnet(issuer, key, redirect, scopes, public)
    return [
        Sample("node", "Node.js (openid-client)", "javascript", node),
        Sample("python", "Python (Authlib)", "python", _python(issuer, key, scope, public)),
        Sample("php", "PHP (jumbojett)", "php", _php(issuer, key, redirect, scopes, public)),
        Sample("dotnet", ".NET (AddOpenIdConnect)", "csharp", dotnet),
    ]


def _node(issuer: str, key: str, redirect: str, scope: str, public: bool) -> str:
    credentials = "undefined, client.None()" if public else f"process.env.{SECRET_VARIABLE}"
    return f"""import * as client from "openid-client"; // v6

const config = await client.discovery(new URL("{issuer}"), "{key}", {credentials});

// Sign-in: keep verifier, state and nonce in this browser's session.
const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const url = client.buildAuthorizationUrl(config, {{
  redirect_uri: "{redirect}",
  scope: "{scope}",
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
  state,
  nonce,
}});
// redirect the browser to url.href

// At the redirect URI: checks state, PKCE and the ID token's signature and claims.
const tokens = await client.authorizationCodeGrant(config, currentUrl, {{
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
}});
const member = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);"""


def _python(issuer: str, key: str, scope: str, public: bool) -> str:
    secret = "" if public else f'\n    client_secret=os.environ["{SECRET_VARIABLE}"],'
    auth = '\n    token_endpoint_auth_method="none",' if public else ""
    return f"""import os

from authlib.integrations.flask_client import OAuth  # or starlette_client, django_client

oauth = OAuth(app)
oauth.register(
    "portal",
    server_metadata_url="{discovery_url(issuer)}",
    client_id="{key}",{secret}{auth}
    client_kwargs={{"scope": "{scope}", "code_challenge_method": "S256"}},
)


@app.get("/sign-in")
def sign_in():
    return oauth.portal.authorize_redirect(url_for("callback", _external=True))


@app.get("/oidc/callback")  # your registered redirect URI
def callback():
    token = oauth.portal.authorize_access_token()  # checks state, PKCE and the ID token
    session["member"] = token["userinfo"]
    return redirect("/")"""


def _php(issuer: str, key: str, redirect: str, scopes: list[str], public: bool) -> str:
    # $_SERVER, not getenv(): PHP-FPM's default clear_env hides the shell's environment.
    secret = "null" if public else f'$_SERVER["{SECRET_VARIABLE}"]'
    extra = ", ".join(f'"{s}"' for s in scopes if s != "openid")
    return f"""<?php
// composer require jumbojett/openid-connect-php
use Jumbojett\\OpenIDConnectClient;

$oidc = new OpenIDConnectClient("{issuer}", "{key}", {secret});
$oidc->setRedirectURL("{redirect}");
$oidc->addScope([{extra}]);
$oidc->setCodeChallengeMethod("S256");
$oidc->authenticate(); // redirects, then checks the answer and the ID token
$member = $oidc->requestUserInfo();"""


def _dotnet(issuer: str, key: str, redirect: str, scopes: list[str], public: bool) -> str:
    added = "".join(
        f'\n        options.Scope.Add("{s}");' for s in scopes if s not in ("openid", "profile")
    )
    secret = (
        ""
        if public
        else f'\n        options.ClientSecret = builder.Configuration["{SECRET_VARIABLE}"];'
    )
    return f"""builder.Services
    .AddAuthentication(options =>
    {{
        options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
        options.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
    }})
    .AddCookie()
    .AddOpenIdConnect(options =>
    {{
        options.Authority = "{issuer}";
        options.ClientId = "{key}";{secret}
        options.ResponseType = "code";
        options.UsePkce = true;
        options.CallbackPath = "{urlsplit(redirect).path or "/"}";{added}
        options.GetClaimsFromUserInfoEndpoint = true;
        options.SaveTokens = true; // keeps the ID token for sign-out
    }});"""

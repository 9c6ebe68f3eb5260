"""OpenID Provider metadata (Discovery 1.0 §3) and the public keys (the JWKS) it points to."""

import json
from functools import lru_cache

from quart import Blueprint, Response, abort

from portal import claims, clock, db, settings, signing_keys
from portal.models import SIGNING_ALGORITHMS
from portal.oidc import answers, authorization, clients, key_pems

blueprint = Blueprint("oidc_discovery", __name__)


# Relying parties and proxies may keep these a minute: well under the 15 minutes a new key is
# published before it signs, and a withdrawn key is gone from every such copy a minute later
# (docs/oidc.md). Each worker serves them from memory (portal/key_cache.py) either way.
PUBLIC = {"Cache-Control": "public, max-age=60"}
# Both answers are the same bytes for every request (discovery's for each issuer, the key set's
# for each copy of the keys): encoded once, not for every request.
ISSUERS_KEPT = 16  # one in production (PORTAL_ISSUER); development's follows the Host header


@blueprint.get("/.well-known/openid-configuration")
async def configuration() -> Response:
    return public_json(metadata_json(answers.issuer()))


@blueprint.get("/oidc/jwks")
async def jwks() -> Response:
    return public_json(await jwks_json())


@blueprint.get("/oidc/keys/<kid>.pem")
async def key_pem(kid: str) -> Response:
    """One published key as PEM, for a vendor whose library cannot read a JWK (PHP): from the
    same copy of the key set as the JWKS, so a withdrawn key is gone from both at once."""
    found = key_pems.pem(await jwks_json(), kid)
    if found is None:
        abort(404)
    return Response(found, headers=PUBLIC, content_type="application/x-pem-file")


async def jwks_json() -> bytes:
    now = clock.now()
    body = signing_keys.cached_jwks_json(db.engine(), now)
    if body is None:  # this worker's copy of the keys is stale, or there is none yet
        async with db.transaction() as db_session:
            body = await signing_keys.jwks_json(db_session, now=now, settings=settings.current())
    return body


def public_json(body: bytes) -> Response:
    return Response(body, headers=PUBLIC, content_type="application/json")


@lru_cache(maxsize=ISSUERS_KEPT)
def metadata_json(issuer: str) -> bytes:
    metadata = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oidc/authorize",
        "token_endpoint": f"{issuer}/oidc/token",
        "revocation_endpoint": f"{issuer}/oidc/revoke",
        "userinfo_endpoint": f"{issuer}/oidc/userinfo",
        "jwks_uri": f"{issuer}/oidc/jwks",
        "end_session_endpoint": f"{issuer}/oidc/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "scopes_supported": list(claims.ALL_SCOPES),
        "claims_supported": claims.supported_claims(),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": list(clients.METHODS),
        "revocation_endpoint_auth_methods_supported": list(clients.METHODS),
        "prompt_values_supported": list(authorization.PROMPTS_SUPPORTED),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        # docs/single-logout.md: a logout token to each vendor a session reached, with its sid;
        # the signed-out page frames the front-channel logout URIs, with iss and sid.
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True,
        "frontchannel_logout_session_supported": True,
    }
    return json.dumps(metadata, separators=(",", ":")).encode()

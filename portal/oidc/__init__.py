"""OpenID Connect front end (docs/oidc.md): discovery, authorization, token, revocation,
UserInfo, logout."""

from quart import Quart, Response, request
from quart.typing import ResponseReturnValue

from portal import errors
from portal.oidc import (
    authorize_views,
    discovery_views,
    logout_views,
    protocol_errors,
    revocation_views,
    token_views,
    userinfo_views,
)

BLUEPRINTS = (
    discovery_views.blueprint,
    authorize_views.blueprint,
    token_views.blueprint,
    revocation_views.blueprint,
    userinfo_views.blueprint,
    logout_views.blueprint,
)
# Public clients are apps in the browser (docs/oidc.md): they read the metadata and keys and
# call the token, revocation and UserInfo endpoints from the vendor's origin. These answers need
# no cookie and carry none (no Allow-Credentials), and what they release is bound to a secret, a
# PKCE verifier or a bearer token the caller must hold already: any origin may read them.
CORS_PATHS = frozenset(
    {
        "/.well-known/openid-configuration",
        "/oidc/jwks",
        "/oidc/token",
        "/oidc/revoke",
        "/oidc/userinfo",
    }
)


def init_app(app: Quart) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    for path in protocol_errors.JSON_ENDPOINTS:
        errors.register_error_page(app, path, json_error)
    # Each hook runs for the requests of the blueprints serving its paths only, not for every
    # request of the portal (Quart runs an app-wide hook on each one).
    for blueprint in (authorize_views.blueprint, logout_views.blueprint):  # ACTIONS
        app.before_request_funcs[blueprint.name].append(no_head_for_actions)
    for blueprint in (
        discovery_views.blueprint,
        token_views.blueprint,
        revocation_views.blueprint,
        userinfo_views.blueprint,
    ):  # CORS_PATHS
        app.after_request_funcs[blueprint.name].append(cors)


ACTIONS = frozenset({"/oidc/authorize", "/oidc/logout"})


async def no_head_for_actions() -> ResponseReturnValue | None:
    """HEAD would run the GET view: issue a code, or sign the member out, for a request that
    only asked for headers (a link checker, a preview). Refused before anything is done."""
    if request.method == "HEAD" and request.path in ACTIONS:
        return "", 405, {"Allow": "GET, POST"}
    return None


async def json_error(status: int, title: str, message: str) -> ResponseReturnValue:
    """The token and UserInfo endpoints answer even a refusal of the framework's (a method
    not allowed, a body too large) in their protocol's JSON."""
    error = "invalid_request" if status < 500 else "server_error"
    # A refusal before any view (a method not allowed) runs no blueprint's hook: CORS here.
    headers = {"Access-Control-Allow-Origin": "*"} if request.path in CORS_PATHS else {}
    return {"error": error, "error_description": message or title}, status, headers


async def cors(response: Response) -> Response:
    if request.path in CORS_PATHS:
        response.headers["Access-Control-Allow-Origin"] = "*"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST"
            response.headers["Access-Control-Max-Age"] = "600"
    return response

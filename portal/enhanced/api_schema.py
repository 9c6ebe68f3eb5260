"""The user service's OpenAPI document, served at /api/openapi.json: what api.py answers,
declared here and attached to its route (`@openapi.documented(USER_SERVICE)`), assembled from
the app's URL map. tests/enhanced/test_api_schema.py validates the document and every real
answer of the user service against it."""

import importlib.metadata
from typing import Any

from quart import Blueprint, current_app, request

from portal import catalogue, openapi, settings
from portal.enhanced.tokens import TOKEN_PATTERN

blueprint = Blueprint("sso_api_schema", __name__)
BASIC = "vendorBasic"
TOKEN = {"type": "string", "pattern": f"^{TOKEN_PATTERN.pattern}$"}
PARAMETER_TEXT = (
    "The one-time token from the token POST (43 URL-safe characters). The name `token` is "
    "case-sensitive, and it is given exactly once."
)
RETRY_AFTER = {"Retry-After": "Seconds to wait before trying again"}


def error(description: str, *codes: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "required": ["error", "error_description"],
        "properties": {
            "error": {"type": "string", "enum": list(codes)},
            "error_description": {"type": "string", "description": "What is wrong, in words"},
        },
        "additionalProperties": False,
    }


def field_schema(name: str) -> dict[str, Any]:
    described = {"description": catalogue.DESCRIPTIONS[name]}
    if name == "IsMember":
        return {"type": "boolean", **described}
    if name in catalogue.DATE_FIELDS:
        return {"type": ["string", "null"], "format": "date", **described}
    return {"type": ["string", "null"], **described}


MEMBER_OBJECT = {
    "type": "object",
    "description": (
        "Exactly the fields the association chose for your site, in their order, under their "
        "output names (a field may be renamed, e.g. Email as email_address); a field with no "
        "value is null. By default: ImisId, FirstName, LastName, Email, MemberType. Last, "
        "always, sid: the portal session (no field is sent under that name)."
    ),
    "required": [catalogue.SESSION_ID],
    "properties": {
        **{name: field_schema(name) for name in catalogue.CATALOGUE},
        catalogue.SESSION_ID: {"type": "string", "description": catalogue.SESSION_ID_DESCRIPTION},
    },
    "propertyNames": {"pattern": catalogue.OUTPUT_NAME_PATTERN},
    "additionalProperties": {"type": ["string", "boolean", "null"]},
    "example": {
        "ImisId": "101",
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Email": "ada@example.org",
        "MemberType": "REG",
        catalogue.SESSION_ID: "5f0c9e2ab7d34c18a6e1f3b2c9d07e4a",
    },
}
ANSWERS = {
    200: openapi.Answer("The member object", MEMBER_OBJECT),
    400: openapi.Answer(
        "invalid_request: the token is missing, given twice or malformed. invalid_token: it is "
        "unknown, expired, already used or issued to another site (one answer for all)",
        error("A refused token", "invalid_request", "invalid_token"),
    ),
    401: openapi.Answer(
        "invalid_client: Basic credentials missing or wrong. The token is not spent",
        error("A refused caller", "invalid_client"),
        {"WWW-Authenticate": 'Basic realm="portal user service", charset="UTF-8"'},
    ),
    403: openapi.Answer(
        "vendor_disabled: your key and secret are right, but your site is disabled at the "
        "portal: do not rotate the secret, ask the association. The token is not spent",
        error("A disabled site", "vendor_disabled"),
    ),
    413: openapi.Answer(
        "The request body is larger than 2 MB", error("Too large", "invalid_request")
    ),
    429: openapi.Answer(
        "rate_limited: your site made more calls this minute than the association allows, or "
        "this address failed to authenticate too often",
        error("Too many calls", "rate_limited"),
        RETRY_AFTER,
    ),
    503: openapi.Answer(
        "temporarily_unavailable: the portal cannot reach its database just now",
        error("Try again later", "temporarily_unavailable"),
        RETRY_AFTER,
    ),
}
DESCRIPTION = (
    "Swap a one-time token, received by your token URL, for the member object. Server to "
    "server, within the token's lifetime (60 s by default), once: a second redemption is "
    "treated as a stolen token and ends the member's portal session. A wrong secret spends "
    "nothing: the token stays valid."
)
USER_SERVICE = openapi.Declaration(
    operations={
        "GET": openapi.Operation(
            operation_id="redeem_token_get",
            summary="Redeem a token (token in the query string)",
            description=DESCRIPTION + " POST keeps the token out of access logs; prefer it.",
            answers=ANSWERS,
            parameters=[
                {
                    "name": "token",
                    "in": "query",
                    "required": True,
                    "description": PARAMETER_TEXT,
                    "schema": TOKEN,
                }
            ],
            security=[BASIC],
        ),
        "POST": openapi.Operation(
            operation_id="redeem_token",
            summary="Redeem a token (token in a form field)",
            description=DESCRIPTION,
            answers=ANSWERS,
            request_body={
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["token"],
                            "properties": {"token": {**TOKEN, "description": PARAMETER_TEXT}},
                        }
                    }
                },
            },
            security=[BASIC],
        ),
    },
    refused=openapi.Answer(
        "Only GET and POST exist (HEAD too is refused: it never spends a token)",
        error("Method not allowed", "invalid_request"),
        {"Allow": "GET, POST"},
    ),
)
SECURITY_SCHEMES = {
    BASIC: {
        "type": "http",
        "scheme": "basic",
        "description": "Your vendor key as the user name, your API secret as the password",
    }
}
EVERY_ANSWER = {
    "Cache-Control": "no-store",
    "X-Request-ID": "This request's id, also in the portal's logs and audit events",
}


@blueprint.get("/api/openapi.json")
async def openapi_document() -> dict[str, Any]:
    origin = settings.current().public_origin(request.host_url.rstrip("/"))
    return openapi.document(
        current_app,
        info={
            "title": "Portal user service",
            "version": importlib.metadata.version("portal"),
            "description": "The Enhanced SSO user service: a vendor swaps a one-time token, "
            "received by its token URL, for the member object.",
        },
        servers=[{"url": origin}],
        security_schemes=SECURITY_SCHEMES,
        headers=EVERY_ANSWER,
    )

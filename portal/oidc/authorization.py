"""Reading an authorization request (OpenID Connect Core §3.1.2.1, RFC 7636, RFC 9700): the
client and its redirect URI first, since only then may an error go back to the vendor."""

import re
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode

from sqlmodel.ext.asyncio.session import AsyncSession
from werkzeug.datastructures import MultiDict

from portal import claims, reasons, vendor_redirect_uris, vendors
from portal.continuations import FRESH_SIGN_IN, MAX_LOGIN_HINT
from portal.models import Vendor
from portal.oidc import id_tokens
from portal.oidc import scopes as oidc_scopes
from portal.oidc.protocol_errors import BadAuthorization, RedirectError
from portal.settings import Settings

RESPONSE_MODES = ("query", "form_post")
# The prompt values honoured (discovery's prompt_values_supported); select_account is known but
# answered account_selection_required: a browser holds one member's portal session, not several.
PROMPTS_SUPPORTED = ("none", "login", "consent")
PROMPTS = frozenset({*PROMPTS_SUPPORTED, "select_account"})
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters.
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
MAX_STATE = 2048
MAX_NONCE = 512


@dataclass(frozen=True)
class AuthorizationRequest:
    vendor: Vendor
    redirect_uri: str
    response_mode: str
    state: str | None
    nonce: str | None
    scopes: list[str]  # those granted: the asked-for scopes this vendor is allowed
    not_granted: list[str]  # asked for, but unknown or not allowed (ignored, Core §3.1.2.1)
    code_challenge: str
    prompt: frozenset[str]
    max_age: int | None
    login_hint: str | None
    login_after: str | None  # the signed time of a request that asked for a fresh sign-in
    values: dict[str, str]  # every parameter as given, to continue the request after sign-in
    hint_subject: str | None = None  # the `sub` of the request's id_token_hint, once verified

    def continuation(self, login_after: str | None) -> str:
        """This request as a local path, for the sign-in page to come back to."""
        values = {k: v for k, v in self.values.items() if k != FRESH_SIGN_IN}
        if login_after:
            values[FRESH_SIGN_IN] = login_after
        return "/oidc/authorize?" + urlencode(values)

    def wants_fresh_sign_in(self) -> bool:
        return "login" in self.prompt or self.max_age is not None


def single_values(args: MultiDict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Each parameter's value, and the names given more than once (RFC 6749 §3.1: never
    allowed; two parsers picking different copies is how checks are bypassed)."""
    values: dict[str, str] = {}
    repeated: list[str] = []
    for name, value in args.items(multi=True):
        if name in values:
            repeated.append(name)
        values[name] = value
    return values, repeated


async def read(
    db: AsyncSession, args: MultiDict[str, str], *, issuer: str, now: datetime, settings: Settings
) -> AuthorizationRequest:
    """The request, checked; raises BadAuthorization (a 400 page) or RedirectError (to the
    vendor, at the registered redirect URI the request named)."""
    values, repeated = single_values(args)
    vendor, redirect_uri = await _client_and_redirect(db, values, repeated)
    try:
        checked = _checked(vendor, redirect_uri, values, repeated)
        hint = values.get("id_token_hint")
        if not hint:
            return checked
        found = await id_tokens.read_hint(db, hint, issuer=issuer, now=now, settings=settings)
        subject = found.get("sub") if found else None
        if not isinstance(subject, str):
            # Core §3.1.2.1: a hint must be an ID token this portal issued, or it means nothing.
            raise RedirectError(
                "invalid_request",
                "The id_token_hint is not an ID token this portal issued.",
                "id_token_hint",
            )
        return replace(checked, hint_subject=subject)
    except RedirectError as error:
        error.vendor, error.redirect_uri = vendor, redirect_uri
        error.response_mode = values.get("response_mode", "query")
        if error.response_mode not in RESPONSE_MODES:
            error.response_mode = "query"
        state = values.get("state", "")
        if state and len(state) <= MAX_STATE and all(" " <= ch <= "~" for ch in state):
            error.state = state
        raise


def _checked(
    vendor: Vendor, redirect_uri: str, values: dict[str, str], repeated: list[str]
) -> AuthorizationRequest:
    if repeated:
        raise RedirectError(
            "invalid_request", f"{repeated[0]} is given more than once.", "repeated"
        )
    mode = values.get("response_mode", "query")
    if mode not in RESPONSE_MODES:
        raise RedirectError("invalid_request", "response_mode must be query or form_post.", "mode")
    for name, error in (
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
    ):
        if name in values:
            raise RedirectError(error, f"The {name} parameter is not supported.", name)
    _response_type(values.get("response_type"))
    scopes, not_granted = _scopes(values.get("scope", ""), vendor)
    return AuthorizationRequest(
        vendor=vendor,
        redirect_uri=redirect_uri,
        response_mode=mode,
        state=_text(values, "state", MAX_STATE),
        nonce=_text(values, "nonce", MAX_NONCE),
        scopes=scopes,
        not_granted=not_granted,
        code_challenge=_challenge(values),
        prompt=_prompt(values.get("prompt", "")),
        max_age=_max_age(values.get("max_age")),
        login_hint=_text(values, "login_hint", MAX_LOGIN_HINT),
        login_after=values.get(FRESH_SIGN_IN),
        values=values,
    )


async def _client_and_redirect(
    db: AsyncSession, values: dict[str, str], repeated: list[str]
) -> tuple[Vendor, str]:
    if "client_id" in repeated or "redirect_uri" in repeated:
        raise BadAuthorization("The client_id or redirect_uri is given more than once.", "repeated")
    key = values.get("client_id", "")
    vendor = await vendors.select_vendor_by_key(db, key) if key else None
    if vendor is None or not vendor.enabled or vendor.protocol != "oidc":
        shown = key[:63] or "(none)"
        known = vendor.key if vendor is not None else None
        raise BadAuthorization(
            f"There is no active OpenID Connect site called “{shown}”.",
            reasons.UNKNOWN_VENDOR,
            known,
        )
    redirect_uri = values.get("redirect_uri", "")
    # Exact match only (RFC 9700 §4.1.3): no prefixes, no wildcards, no normalising.
    if redirect_uri not in await vendor_redirect_uris.select_redirect_uris(db, vendor, "login"):
        raise BadAuthorization(
            f"The redirect_uri is not registered for {vendor.name}; "
            "the site's developers must register it exactly.",
            "redirect_uri",
            vendor.key,
        )
    return vendor, redirect_uri


def _text(values: dict[str, str], name: str, limit: int) -> str | None:
    value = values.get(name)
    if not value:
        return None
    if len(value) > limit or not all(" " <= ch <= "~" for ch in value):
        raise RedirectError(
            "invalid_request", f"{name} must be at most {limit} printable ASCII characters.", name
        )
    return value


def _response_type(value: str | None) -> None:
    if not value:
        raise RedirectError("invalid_request", "response_type is required.", "no_response_type")
    if value != "code":
        raise RedirectError(
            "unsupported_response_type", "Only response_type=code is supported.", "response_type"
        )


def _scopes(text: str, vendor: Vendor) -> tuple[list[str], list[str]]:
    """The scopes granted, and those left out. Core §3.1.2.1: values not understood are
    ignored; the ones this vendor may not have are left out too, as Keycloak does, so a relying
    party that asks for more than it was given still signs members in (the token answer's
    `scope` says what was granted). Only `openid` is required: without it this is not OIDC."""
    scopes = claims.parse_scope(text)
    if claims.OPENID not in scopes:
        raise RedirectError("invalid_scope", "The scope must include openid.", "invalid_scope")
    allowed = oidc_scopes.allowed(vendor)
    granted = [scope for scope in scopes if scope in allowed]
    return granted, [scope for scope in scopes if scope not in allowed]


def _challenge(values: dict[str, str]) -> str:
    """PKCE with S256 is required of every client (RFC 9700 §2.1.1); `plain` would put the
    verifier itself in the browser's URL."""
    challenge = values.get("code_challenge", "")
    method = values.get("code_challenge_method", "plain")
    if not challenge:
        raise RedirectError(
            "invalid_request", "PKCE is required: send a code_challenge.", reasons.PKCE
        )
    if method != "S256":
        raise RedirectError(
            "invalid_request", "Only code_challenge_method=S256 is supported.", reasons.PKCE
        )
    if not CHALLENGE.fullmatch(challenge):
        raise RedirectError("invalid_request", "The code_challenge is malformed.", reasons.PKCE)
    return challenge


def _prompt(text: str) -> frozenset[str]:
    prompt = frozenset(text.split())
    if prompt - PROMPTS:
        raise RedirectError("invalid_request", "Unknown prompt value.", "prompt")
    if "none" in prompt and len(prompt) > 1:
        raise RedirectError("invalid_request", "prompt=none cannot be combined.", "prompt")
    if "select_account" in prompt:
        # Core §3.1.2.1: an account choice the portal cannot offer is answered, never ignored.
        raise RedirectError(
            "account_selection_required",
            "The portal does not offer a choice of accounts: send the request without "
            "prompt=select_account (prompt=login asks the member to sign in again).",
            "select_account",
        )
    return prompt


def _max_age(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise RedirectError("invalid_request", "max_age must be a number of seconds.", "max_age")
    return int(text)

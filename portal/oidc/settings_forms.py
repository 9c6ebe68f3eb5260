"""OpenID Connect's vendor settings as the dashboard's forms and `portal vendor add/set` offer
them, handed to both through the front end's registration (front_end.py): the form's fields
read (templates/admin/vendors/oidc_settings.html, oidc_new.html) and the command line's options.
The rules are registration.py's."""

import argparse
from collections.abc import Sequence
from typing import Any

from werkzeug.datastructures import MultiDict

from portal.models import SIGNING_ALGORITHMS
from portal.oidc import registration
from portal.oidc.registration import Registration

MAX_TEXT = 30_000  # ten addresses of 2048 characters, and their line breaks


def read_form(form: MultiDict[str, str]) -> dict[str, Any]:
    """ "How members sign in", as submitted."""
    return {
        "redirect_uris": registration.uri_lines(form.get("redirect_uris", "")[:MAX_TEXT]),
        "post_logout_uris": registration.uri_lines(form.get("post_logout_uris", "")[:MAX_TEXT]),
        "public_client": form.get("client_type") == "public",
        "scopes": [s[:40] for s in form.getlist("scopes")[:20]],
        "refresh_tokens": form.get("refresh_tokens") == "on",
        "pairwise_subject": form.get("pairwise_subject") == "on",
        "omit_iss": form.get("omit_iss") == "on",
        "id_token_signed_response_alg": form.get("id_token_signed_response_alg", "RS256")[:20],
    }


def read_new(
    form: MultiDict[str, str], domains: Sequence[str] | None, *, development: bool
) -> dict[str, Any]:
    """ "Add a vendor": its sign-in return addresses, checked on the domain given (unless that
    is refused), and the kind of site; the rest keeps its defaults."""
    uris = registration.uri_lines(form.get("redirect_uris", "").strip()[:MAX_TEXT])
    if domains is not None:
        checked = registration.check(Registration(uris), domains, development=development)
        registration.needs(None, {"redirect_uris": checked.redirect_uris})
    public = form.get("client_type", "").strip() == "public"
    return {"redirect_uris": uris, "public_client": public}


SWITCHES = (  # (on, off, setting, help)
    ("--public", "--confidential", "public_client", "an app in the browser (no secret, PKCE)"),
    ("--refresh-tokens", "--no-refresh-tokens", "refresh_tokens", "may have offline_access"),
    ("--pairwise", "--no-pairwise", "pairwise_subject", "a sub of its own for each member"),
    ("--omit-iss", "--send-iss", "omit_iss", "no iss in its answers (mod_auth_openidc 2.4)"),
)  # fmt: skip
# The option that carries each setting, so that a refusal names it.
OPTIONS = {
    "redirect_uris": "--redirect-uri",
    "post_logout_uris": "--post-logout-redirect-uri",
    "scopes": "--scopes",
    "id_token_signed_response_alg": "--id-token-alg",
    **{setting: f"{on}/{off}" for on, off, setting, _ in SWITCHES},
}


def add_options(parser: argparse.ArgumentParser) -> None:
    for option, setting in (
        ("--redirect-uri", "redirect_uris"),
        ("--post-logout-redirect-uri", "post_logout_uris"),
    ):
        parser.add_argument(
            option,
            action="append",
            dest=setting,
            metavar="URI",
            help='repeat for more; replaces them all ("" alone: none)',
        )
    parser.add_argument("--scopes", type=scope_list, metavar='"openid profile …"')
    parser.add_argument("--id-token-alg", choices=SIGNING_ALGORITHMS,
                        dest="id_token_signed_response_alg")  # fmt: skip
    for on, off, setting, what in SWITCHES:
        pair = parser.add_mutually_exclusive_group()
        pair.add_argument(on, dest=setting, action="store_const", const=True, help=what)
        pair.add_argument(off, dest=setting, action="store_const", const=False, help=f"not {on}")


def scope_list(text: str) -> list[str]:
    scopes = text.replace(",", " ").split()
    if "offline_access" in scopes:
        raise argparse.ArgumentTypeError("offline_access comes with --refresh-tokens")
    return scopes


def read_options(given: dict[str, Any]) -> dict[str, Any]:
    """`--redirect-uri ""` alone removes them all."""
    found = dict(given)
    for name in ("redirect_uris", "post_logout_uris"):
        if name in found:
            found[name] = [uri for uri in found[name] if uri]
    return found


def added(key: str, secret: str | None) -> tuple[str, dict[str, object]]:
    """What `portal vendor add` prints: the client ID is the key, and a public client has no
    secret."""
    text = f"vendor {key} added for OpenID Connect\nclient ID: {key}\n" + (
        f"client secret (shown only now, store it safely): {secret}"
        if secret
        else "public client: no secret (PKCE)"
    )
    return text, {"key": key, "client_id": key, "secret": secret}

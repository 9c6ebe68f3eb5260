"""SAML's vendor settings as the dashboard's forms and `portal vendor add/set` offer them, handed
to both through the front end's registration (front_end.py): the form's fields read
(templates/admin/vendors/saml_settings.html, saml_new.html) and the command line's options. The
rules are registration.py's."""

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from werkzeug.datastructures import MultiDict

from portal import public_addresses
from portal.errors import PortalError
from portal.saml import registration
from portal.saml.bindings import MAX_RELAY_STATE_BYTES
from portal.saml.models import ATTRIBUTE_NAME_FORMATS, CIPHERS, NAMEID_FORMATS
from portal.saml.registration import (
    IDP_INITIATED,
    MAX_METADATA_CHARS,
    METADATA,
    METADATA_URL,
    RELAY_STATE,
)
from portal.settings import load_settings

FETCH_SECONDS = 10


def read_form(form: MultiDict[str, str]) -> dict[str, Any]:
    """ "How members sign in", as submitted: new metadata only when pasted."""
    return {
        METADATA: form.get(METADATA, "").strip()[: MAX_METADATA_CHARS + 1] or None,
        "saml_nameid_format": form.get("saml_nameid_format", "persistent")[:20],
        "saml_encrypt_assertions": form.get("saml_encrypt_assertions") == "on",
        "saml_cipher": form.get("saml_cipher", "aes256-gcm")[:20],
        "saml_sign_response": form.get("saml_sign_response") == "on",
        "saml_attribute_name_format": form.get("saml_attribute_name_format", "uri")[:20],
        IDP_INITIATED: form.get(IDP_INITIATED) == "on",
        # Kept past the limit, so that the check says it is too long rather than cut it.
        RELAY_STATE: form.get(RELAY_STATE, "")[: 2 * MAX_RELAY_STATE_BYTES],
    }


def read_new(
    form: MultiDict[str, str], domains: Sequence[str] | None, *, development: bool
) -> dict[str, Any]:
    """ "Add a vendor": the SP's metadata, pasted, checked now (its addresses on the domain
    given, unless that was refused: it says so itself); the rest keeps its defaults."""
    text = form.get(METADATA, "").strip()[: MAX_METADATA_CHARS + 1]
    if text:
        registration.parsed(text, development=development, domains=domains)
    registration.needs(None, {METADATA: text})
    return {METADATA: text}


SWITCHES = (  # (on, off, setting, help)
    ("--encrypt-assertions", "--no-encrypt-assertions", "saml_encrypt_assertions",
     "encrypt each assertion to the SP's encryption certificate"),
    ("--sign-response", "--no-sign-response", "saml_sign_response",
     "sign the Response too, not only its assertion"),
    ("--idp-initiated", "--no-idp-initiated", IDP_INITIATED,
     'members open the site from "My sites" (an unsolicited Response: off by default)'),
)  # fmt: skip
# The option that carries each setting, so that a refusal names it.
OPTIONS = {
    METADATA: "--metadata-file/--metadata-url",
    METADATA_URL: "--metadata-url",
    "saml_nameid_format": "--nameid",
    "saml_cipher": "--cipher",
    "saml_attribute_name_format": "--attribute-names",
    RELAY_STATE: "--relay-state",
    **{setting: f"{on}/{off}" for on, off, setting, _ in SWITCHES},
}


def add_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--metadata-file", dest=METADATA, type=metadata_file, metavar="FILE",
                        help="SAML: the SP's metadata (XML)")  # fmt: skip
    source.add_argument("--metadata-url", dest=METADATA_URL, metavar="URL",
                        help="SAML: where to read the SP's metadata from")  # fmt: skip
    parser.add_argument("--nameid", dest="saml_nameid_format", choices=NAMEID_FORMATS,
                        help="SAML: the member's NameID (default persistent)")  # fmt: skip
    parser.add_argument("--cipher", dest="saml_cipher", choices=CIPHERS,
                        help="SAML: how an encrypted assertion is encrypted")  # fmt: skip
    parser.add_argument("--attribute-names", dest="saml_attribute_name_format",
                        choices=ATTRIBUTE_NAME_FORMATS,
                        help="SAML: attribute NameFormat (default uri)")  # fmt: skip
    parser.add_argument("--relay-state", dest=RELAY_STATE, metavar="URL",
                        help='SAML: where the site lands a member who opens it from "My sites" '
                        '("" for its own choice)')  # fmt: skip
    for on, off, setting, what in SWITCHES:
        pair = parser.add_mutually_exclusive_group()
        pair.add_argument(on, dest=setting, action="store_const", const=True, help=what)
        pair.add_argument(off, dest=setting, action="store_const", const=False, help=f"not {on}")


def metadata_file(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {exc}") from None
    if len(text) > MAX_METADATA_CHARS:
        raise argparse.ArgumentTypeError(f"{path} is larger than 1 MiB")
    return text


def read_options(given: dict[str, Any]) -> dict[str, Any]:
    """--metadata-url is read now, as the operator waits: the metadata is then checked like a
    file's, and the URL kept with it."""
    found = dict(given)
    if found.get(METADATA_URL) and not found.get(METADATA):
        found[METADATA] = asyncio.run(fetch(found[METADATA_URL]))
    return found


async def fetch(url: str) -> str:
    """The metadata at `url`, through the client that calls vendors' servers at public
    addresses only (a loopback one in development)."""
    development = load_settings().development
    try:
        async with public_addresses.client(allow_loopback=development) as client:
            answer = await client.get(url, timeout=FETCH_SECONDS, follow_redirects=False)
    except (httpx.HTTPError, public_addresses.AddressRefused, ValueError) as exc:
        raise PortalError(f"--metadata-url: could not read {url[:200]}: {exc}") from None
    if answer.status_code != 200:
        raise PortalError(f"--metadata-url: {url[:200]} answered {answer.status_code}")
    if len(answer.content) > MAX_METADATA_CHARS:
        raise PortalError("--metadata-url: the metadata is larger than 1 MiB")
    return answer.text


def added(key: str, secret: str | None) -> tuple[str, dict[str, object]]:
    """What `portal vendor add` prints: a SAML vendor needs no secret, only the portal's
    metadata URL."""
    text = (
        f"vendor {key} added for SAML 2.0\n"
        "give its developers the portal's metadata URL: <the portal>/saml/metadata"
    )
    return text, {"key": key, "protocol": "saml"}

"""A vendor's SAML settings, as staff make them: the SP's metadata (pasted, from a file, or read
from its URL by `portal vendor add/set`), and the association's choices — the NameID format,
encrypting assertions and with which cipher, signing the Response too, the attributes'
NameFormat, and signing in from "My sites" (IdP-initiated) with the RelayState it posts. Read,
checked, written and audited as the front end's vendor settings (portal/front_ends.py's
`VendorSettings`, in front_end.py), which the dashboard and the CLI reach only through the
registry (portal/sign_in_methods.py); sign-in reads what is saved here (service_providers.py)."""

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import urls, vendor_rules
from portal.errors import Conflict, InvalidField
from portal.models import Vendor
from portal.saml import addresses, bindings, service_providers
from portal.saml.models import ATTRIBUTE_NAME_FORMATS, CIPHERS, NAMEID_FORMATS
from portal.saml.refusals import Refused
from portal.saml.sp_metadata import ServiceProvider, parse_metadata

# The settings by name (unique across front ends). The entityID is the metadata's, shown and
# audited; the metadata itself is given only to change it (a saved copy is not checked again:
# metadata that has since passed its validUntil must not block changing anything else).
ENTITY_ID = "saml_entity_id"
METADATA = "saml_metadata"
# Which metadata is saved, for the audit log: a digest of it (the XML itself is not logged).
DIGEST = "saml_metadata_digest"
METADATA_URL = "saml_metadata_url"
CHOICES = {  # setting: (the column, its default)
    "saml_nameid_format": ("nameid_format", "persistent"),
    "saml_encrypt_assertions": ("encrypt_assertions", False),
    "saml_cipher": ("cipher", "aes256-gcm"),
    "saml_sign_response": ("sign_response", False),
    "saml_attribute_name_format": ("attribute_name_format", "uri"),
    "saml_idp_initiated": ("idp_initiated", False),
    "saml_relay_state": ("idp_initiated_relay_state", None),
}
IDP_INITIATED, RELAY_STATE = "saml_idp_initiated", "saml_relay_state"
NAMES = (ENTITY_ID, DIGEST, METADATA, METADATA_URL, *CHOICES)
NAMEID_WORDS = {
    "persistent": "An identifier of its own for each member, that no other site gets (persistent)",
    "email": "The member's email address (emailAddress)",
    "unspecified": "The member's iMIS ID (unspecified)",
}
CIPHER_WORDS = {
    "aes256-gcm": "AES-256-GCM (recommended)",
    "aes128-gcm": "AES-128-GCM",
    "aes256-cbc": "AES-256-CBC (older sites only)",
    "aes128-cbc": "AES-128-CBC (older sites only)",
}
MAX_METADATA_CHARS = 1024 * 1024


async def read_values(db: AsyncSession, vendor: Vendor) -> dict[str, Any]:
    row = await service_providers.of_vendor(db, vendor)
    found: dict[str, Any] = {
        ENTITY_ID: row.entity_id if row else None,
        DIGEST: digest(row.metadata_xml) if row and row.metadata_xml else None,
        METADATA: None,
        METADATA_URL: row.metadata_url if row else None,
    }
    for name, (column, default) in CHOICES.items():
        found[name] = getattr(row, column) if row else default
    return found


def parsed(
    text: str, *, development: bool, domains: Sequence[str] | None = None
) -> ServiceProvider:
    """The SP the metadata `text` describes, or InvalidField saying what is wrong with it; given
    the vendor's `domains`, each of its addresses must be on them (addresses.py)."""
    if len(text) > MAX_METADATA_CHARS:
        raise InvalidField(METADATA, "The metadata is larger than 1 MiB.")
    try:
        sp = parse_metadata(text.encode(), now=datetime.now(UTC), development=development)
    except Refused as refusal:
        raise InvalidField(METADATA, str(refusal)) from None
    if domains is not None and (found := addresses.outside(sp, domains, development=development)):
        raise InvalidField(METADATA, found)
    return sp


def check_values(
    values: Mapping[str, Any], domains: Sequence[str], *, development: bool
) -> dict[str, Any]:
    checked = {name: values.get(name) for name in NAMES}
    if values.get(METADATA):
        sp = parsed(values[METADATA], development=development, domains=domains)
        checked[ENTITY_ID] = sp.entity_id
        checked[DIGEST] = digest(values[METADATA])
    else:
        checked[METADATA] = None
    if url := values.get(METADATA_URL):
        try:
            checked[METADATA_URL] = urls.check_vendor_url(url.strip(), development=development)
        except urls.InvalidURL as exc:
            raise InvalidField(METADATA_URL, f"The metadata URL cannot be used: {exc}.") from None
    for name, allowed in (
        ("saml_nameid_format", NAMEID_FORMATS),
        ("saml_cipher", CIPHERS),
        ("saml_attribute_name_format", ATTRIBUTE_NAME_FORMATS),
    ):
        value = values.get(name) or CHOICES[name][1]
        if value not in allowed:
            raise InvalidField(name, f"Choose {', '.join(allowed[:-1])} or {allowed[-1]}.")
        checked[name] = value
    for name in ("saml_encrypt_assertions", "saml_sign_response", IDP_INITIATED):
        checked[name] = bool(values.get(name))
    checked[RELAY_STATE] = checked_relay_state(
        values.get(RELAY_STATE), domains, development=development
    )
    return checked


def checked_relay_state(
    value: str | None, domains: Sequence[str], *, development: bool
) -> str | None:
    """The RelayState a sign-in from "My sites" posts: where the site should land, as its
    software reads it (an address, a path, or a value of its own), or None. An address must be
    on the vendor's domains: the portal never steers a member elsewhere through a site."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text.encode()) > bindings.MAX_RELAY_STATE_BYTES:
        raise InvalidField(
            RELAY_STATE, f"The landing page is longer than {bindings.MAX_RELAY_STATE_BYTES} bytes."
        )
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise InvalidField(RELAY_STATE, "The landing page must be on one line, without tabs.")
    if "://" in text:
        try:
            urls.check_return_url(text, domains, development=development)
        except urls.InvalidURL as exc:
            problem = vendor_rules.url_problem("landing page", exc, "ReturnURL")
            raise InvalidField(RELAY_STATE, problem) from None
    return text


def needs(_vendor: Vendor | None, values: Mapping[str, Any]) -> None:
    """What a vendor signing in with SAML needs: its SP's metadata."""
    if not (values.get(ENTITY_ID) or values.get(METADATA)):
        raise InvalidField(
            METADATA,
            "Paste the site's SAML metadata (its developers have it: an XML document with its "
            "entityID and AssertionConsumerService addresses).",
        )


async def write_values(db: AsyncSession, vendor: Vendor, values: Mapping[str, Any]) -> None:
    """Write checked values: new metadata replaces what the SP's earlier copy said; the choices
    go with the SP (a vendor without one has nowhere to keep them, and needs none)."""
    choices = {column: values[name] for name, (column, _) in CHOICES.items()}
    row = await service_providers.of_vendor(db, vendor)
    if values.get(METADATA):
        sp = parsed(values[METADATA], development=True)  # checked already, by its own rules
        try:
            row = await service_providers.save(
                db,
                vendor,
                sp,
                now=datetime.now(UTC),
                metadata_xml=values[METADATA],
                metadata_url=values.get(METADATA_URL),
                **choices,
            )
        except Conflict as exc:
            raise InvalidField(METADATA, f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
    elif row is not None:
        for column, value in choices.items():
            setattr(row, column, value)
        db.add(row)
    if row is not None and row.encrypt_assertions and not row.encryption_certificates:
        raise InvalidField(
            "saml_encrypt_assertions",
            "The site's metadata has no encryption certificate (a KeyDescriptor for "
            "encryption): sign-ins cannot be encrypted for it.",
        )


def digest(metadata: str) -> str:
    return "sha256:" + hashlib.sha256(metadata.encode()).hexdigest()[:16]


def audited(values: Mapping[str, Any]) -> dict[str, object]:
    """What the audit log records: every setting, the metadata by its entityID and digest."""
    return {name: None if name == METADATA else values.get(name) for name in NAMES}

"""A SAML vendor's service provider as stored (portal/saml/models.py): found by the entityID a
request names, with its vendor, or by its vendor's key (a sign-in from "My sites"); written from
its parsed metadata (sp_metadata.py) with the association's choices; and read back into the
ServiceProvider record the request checks take."""

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.errors import Conflict
from portal.models import Vendor, id_of
from portal.reasons import UNKNOWN_VENDOR
from portal.saml import names
from portal.saml.certificates import der_base64
from portal.saml.encryption import Cipher
from portal.saml.models import SamlServiceProvider
from portal.saml.refusals import Refused
from portal.saml.sp_metadata import Endpoint, ServiceProvider

NAMEID_URIS = {
    "persistent": names.PERSISTENT,
    "email": names.EMAIL,
    "unspecified": names.UNSPECIFIED,
}
NAME_FORMAT_URIS = {"uri": names.ATTRNAME_URI, "basic": names.ATTRNAME_BASIC}


@dataclass(frozen=True)
class Registered:
    """A vendor's SP as a sign-in uses it: the vendor, what its metadata said, and the choices."""

    vendor: Vendor
    sp: ServiceProvider
    nameid_format: str  # a URI (names.py)
    encrypt_assertions: bool
    cipher: Cipher
    sign_response: bool
    attribute_name_format: str  # a URI (names.py)
    idp_initiated: bool  # members may open it from "My sites" (start_views.py)
    relay_state: str | None  # the RelayState a sign-in from "My sites" posts


async def by_entity_id(db: AsyncSession, entity_id: str) -> Registered | None:
    """The SP registered with this entityID, and its vendor (enabled or not: the caller says
    which refusal it is); None when no vendor has it."""
    query = (
        select(SamlServiceProvider, Vendor)
        .join(Vendor, col(Vendor.id) == col(SamlServiceProvider.vendor_id))
        .where(col(SamlServiceProvider.entity_id) == entity_id)
    )
    found = (await db.exec(query)).first()
    return None if found is None else registered(found[1], found[0])


async def by_vendor_key(db: AsyncSession, key: str) -> Registered | None:
    """The SP of the vendor with this key (enabled or not), or None when it has none."""
    query = (
        select(SamlServiceProvider, Vendor)
        .join(Vendor, col(Vendor.id) == col(SamlServiceProvider.vendor_id))
        .where(col(Vendor.key) == key)
    )
    found = (await db.exec(query)).first()
    return None if found is None else registered(found[1], found[0])


async def opened_from_my_sites(db: AsyncSession, vendor_ids: Sequence[int]) -> set[int]:
    """Which of these vendors members open from "My sites" (staff turned it on)."""
    query = select(SamlServiceProvider.vendor_id).where(
        col(SamlServiceProvider.vendor_id).in_(vendor_ids), col(SamlServiceProvider.idp_initiated)
    )
    return set(await db.exec(query))


def active(found: Registered | None, entity_id: str) -> Registered:
    """`found` when its vendor is enabled and signs in with SAML; else Refused, in words."""
    if found is None or not found.vendor.enabled or found.vendor.protocol != "saml":
        shown = entity_id[:200] or "(none)"
        raise Refused(
            UNKNOWN_VENDOR,
            f"There is no active SAML site with the entityID “{shown}”: the association has "
            "not registered it, or has turned it off.",
        )
    return found


async def of_vendor(db: AsyncSession, vendor: Vendor) -> SamlServiceProvider | None:
    return await db.get(SamlServiceProvider, id_of(vendor))


def registered(vendor: Vendor, row: SamlServiceProvider) -> Registered:
    return Registered(
        vendor=vendor,
        sp=service_provider(row),
        nameid_format=NAMEID_URIS[row.nameid_format],
        encrypt_assertions=row.encrypt_assertions,
        cipher=Cipher(row.cipher),
        sign_response=row.sign_response,
        attribute_name_format=NAME_FORMAT_URIS[row.attribute_name_format],
        idp_initiated=row.idp_initiated,
        relay_state=row.idp_initiated_relay_state,
    )


def service_provider(row: SamlServiceProvider) -> ServiceProvider:
    return ServiceProvider(
        entity_id=row.entity_id,
        assertion_consumers=tuple(_endpoint(e) for e in row.assertion_consumers),
        logout_services=tuple(_endpoint(e) for e in row.logout_services),
        signing_certificates=tuple(_certificate(c) for c in row.signing_certificates),
        encryption_certificates=tuple(_certificate(c) for c in row.encryption_certificates),
        authn_requests_signed=row.authn_requests_signed,
        want_assertions_signed=row.want_assertions_signed,
        nameid_formats=(),
    )


def _endpoint(stored: dict[str, Any]) -> Endpoint:
    return Endpoint(
        binding=stored["binding"],
        location=stored["location"],
        index=stored.get("index"),
        is_default=stored.get("is_default"),
        response_location=stored.get("response_location"),
    )


def _stored(endpoint: Endpoint) -> dict[str, Any]:
    found: dict[str, Any] = {"binding": endpoint.binding, "location": endpoint.location}
    for name in ("index", "is_default", "response_location"):
        if (value := getattr(endpoint, name)) is not None:
            found[name] = value
    return found


def _certificate(stored: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(base64.b64decode(stored))


async def save(
    db: AsyncSession,
    vendor: Vendor,
    sp: ServiceProvider,
    *,
    now: datetime,
    metadata_xml: str | None = None,
    metadata_url: str | None = None,
    **choices: Any,
) -> SamlServiceProvider:
    """The vendor's SP as its metadata `sp` describes it (replacing what an earlier copy said),
    with the association's `choices` (nameid_format, encrypt_assertions, cipher, sign_response,
    attribute_name_format) where given. An entityID is one vendor's only."""
    taken = (
        await db.exec(
            select(SamlServiceProvider.vendor_id).where(
                col(SamlServiceProvider.entity_id) == sp.entity_id,
                col(SamlServiceProvider.vendor_id) != id_of(vendor),
            )
        )
    ).first()
    if taken is not None:
        raise Conflict(f"another vendor is registered with the entityID {sp.entity_id!r}")
    row = await of_vendor(db, vendor) or SamlServiceProvider(
        vendor_id=id_of(vendor), entity_id=sp.entity_id
    )
    row.entity_id = sp.entity_id
    row.assertion_consumers = [_stored(e) for e in sp.assertion_consumers]
    row.logout_services = [_stored(e) for e in sp.logout_services]
    row.signing_certificates = [der_base64(c) for c in sp.signing_certificates]
    row.encryption_certificates = [der_base64(c) for c in sp.encryption_certificates]
    row.authn_requests_signed = sp.authn_requests_signed
    row.want_assertions_signed = sp.want_assertions_signed
    row.metadata_xml = metadata_xml
    row.metadata_url = metadata_url
    for name, value in choices.items():
        setattr(row, name, value)
    row.updated_at = now
    db.add(row)
    await db.flush()
    return row

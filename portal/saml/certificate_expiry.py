"""When a SAML site's certificates (the signing and encryption certificates of its registered
metadata) stop being valid, in staff words: each one's date on the vendor page's Integration tab,
and a warning — on the vendor page, the vendor list and the overview, through the front end's
registration (`VendorPage.attention`) — when the site's certificate of a use expires within
`WARN_BEFORE` or has expired.

An expired certificate is still accepted, at import and at use, as Keycloak does: many SPs use a
long-expired self-signed certificate only as a carrier for their key, and trust comes from the
metadata the association registered, not from the certificate's dates (docs/saml.md). The
warning is for the sites whose software does check them, and shows at once."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.models import Vendor, id_of
from portal.saml import service_providers
from portal.saml.models import SamlServiceProvider

# How far ahead staff are warned: time to ask the site's developers for new metadata.
WARN_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class Validity:
    use: str  # "signing" or "encryption"
    not_after: datetime


def validities(row: SamlServiceProvider) -> list[Validity]:
    """Each certificate of the site's metadata by its use, the latest-valid first."""
    sp = service_providers.service_provider(row)
    found = [
        Validity(use, certificate.not_valid_after_utc)
        for use, certificates in (
            ("signing", sp.signing_certificates),
            ("encryption", sp.encryption_certificates),
        )
        for certificate in certificates
    ]
    return sorted(
        dict.fromkeys(found), key=lambda v: (v.use != "signing", -v.not_after.timestamp())
    )


def day(moment: datetime) -> str:
    """ "3 March 2027"."""
    return f"{moment.day} {moment:%B %Y}"


def valid_until(validity: Validity) -> str:
    """ "Signing certificate valid until 3 March 2027" (or "expired on …")."""
    return f"{validity.use.capitalize()} certificate valid until {day(validity.not_after)}"


def warnings(name: str, found: Sequence[Validity], now: datetime) -> list[str]:
    """What staff must do about the site's certificates: for each use, its latest-valid one
    decides (a site rolling its key over lists the old one beside the new)."""
    said = []
    for use in ("signing", "encryption"):
        latest = max((v.not_after for v in found if v.use == use), default=None)
        if latest is None or latest - now > WARN_BEFORE:
            continue
        ask = "ask its developers for new metadata and paste it here"
        if latest <= now:
            said.append(f"{name}'s {use} certificate has expired ({day(latest)}): {ask}.")
        else:
            said.append(f"{name}'s {use} certificate expires on {day(latest)}: {ask} before then.")
    return said


async def attention(
    db: AsyncSession, vendors: Sequence[Vendor], now: datetime
) -> dict[int, list[str]]:
    """{vendor id: its warnings} of the SAML vendors given that have any: one query."""
    by_id = {id_of(vendor): vendor for vendor in vendors}
    if not by_id:
        return {}
    query = select(SamlServiceProvider).where(col(SamlServiceProvider.vendor_id).in_(by_id))
    found: dict[int, list[str]] = {}
    for row in await db.exec(query):
        if said := warnings(by_id[row.vendor_id].name, validities(row), now):
            found[row.vendor_id] = said
    return found


async def integration_details(db: AsyncSession, vendor: Vendor, now: datetime) -> dict[str, Any]:
    """The Integration tab's lines of the site's certificates (none without metadata)."""
    row = await service_providers.of_vendor(db, vendor)
    return {"saml_certificates": [] if row is None else list(map(valid_until, validities(row)))}

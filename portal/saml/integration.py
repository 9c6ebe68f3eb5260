"""What the vendor page shows of a SAML vendor (portal/front_ends.py's `VendorPage`, in
front_end.py): its Integration tab — the portal's metadata URL, entityID and endpoints — and the
attributes a sign-in would send, in the returned fields' preview; and how it is told of a sign-out
(the sign-out notices card)."""

from collections.abc import Mapping
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import clock, good_standing, settings
from portal.front_ends import Endpoint
from portal.models import Member, Vendor
from portal.saml import (
    attributes,
    front_channel,
    metadata,
    names,
    service_providers,
    soap_logout,
)


def context(issuer: str, key: str, method: Mapping[str, Any]) -> dict[str, Any]:
    entity_id = settings.current().saml_entity_id or issuer + metadata.METADATA_PATH
    return {
        "saml_endpoints": [
            Endpoint("saml-metadata", "Metadata URL", issuer + metadata.METADATA_PATH),
            Endpoint("saml-entity-id", "The portal's entityID", entity_id),
            Endpoint("saml-sso", "Single sign-on", issuer + metadata.SSO_PATH),
            Endpoint("saml-slo", "Single logout", issuer + metadata.SLO_PATH),
        ]
    }


def preview(vendor: Vendor, member: Member, selection: list[tuple[str, str]]) -> dict[str, Any]:
    """The attribute statement, as {Name: values}, with the standard names (NameFormat uri)."""
    found = attributes.of_member(
        member,
        selection,
        good_standing.terms(settings.current(), clock.now()),
        name_format=names.ATTRNAME_URI,
    )
    return {a.name: list(a.values) for a in found}


async def sign_out_words(db: AsyncSession, vendor: Vendor) -> str | None:
    """How its metadata lets the portal tell it of a sign-out, for staff: by SOAP
    (soap_logout.py), through the member's browser (front_channel.py), or not at all."""
    found = await service_providers.of_vendor(db, vendor)
    address = None if found is None else soap_logout.soap_service(found.logout_services)
    if address is None and found is not None:
        service = front_channel.front_channel_service(service_providers.service_provider(found))
        if service is not None:
            return (
                f"When a member signs out in their browser (at the portal or at any site), the "
                f"portal sends the member's browser through {vendor.name}'s sign-out address "
                f"({service.location}) with a signed SAML sign-out request, and on once it "
                "answers. A session that ends otherwise (staff, a timeout) is not told there: "
                "import its metadata with a SOAP sign-out address if its software offers one."
            )
    if address is None:
        return (
            f"{vendor.name}'s SAML metadata has no sign-out address: a member who signs out "
            "of the portal stays signed in there until they sign out there too. Import its "
            "metadata again if its software offers SAML single logout."
        )
    return (
        f"When a member's portal session ends, the portal sends {vendor.name} a signed SAML "
        f"sign-out request at the SOAP address in its metadata ({address})."
    )

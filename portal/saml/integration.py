"""What the vendor page shows of a SAML vendor (portal/front_ends.py's `VendorPage`, in
front_end.py): its Integration tab — the portal's metadata URL, entityID and endpoints — and the
attributes a sign-in would send, in the returned fields' preview."""

from collections.abc import Mapping
from typing import Any

from portal import clock, settings
from portal.front_ends import Endpoint
from portal.models import Member, Vendor
from portal.saml import attributes, metadata, names


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
        member, selection, clock.now().date(), name_format=names.ATTRNAME_URI
    )
    return {a.name: list(a.values) for a in found}

"""The addresses a SAML vendor's metadata gives — its AssertionConsumerService and
SingleLogoutService locations — held to the rule of every address a vendor gives (urls.py's
ReturnURL rule, as OpenID Connect's redirect URIs and Enhanced's ReturnURLs: https, plain http only
on loopback in development, and within the vendor's registered domains), so that the portal never
posts a member's assertion, or sends their browser or a sign-out, to a host registered for no
vendor. Checked when metadata is registered (registration.py), where a domain is removed
(`VendorSettings.addresses`), and again where one is used (sso_views.py, slo_views.py,
start_views.py, front_channel.py): metadata saved before this rule cannot send a sign-in or a
member's browser elsewhere."""

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import settings, vendors
from portal.models import Vendor
from portal.saml import service_providers
from portal.saml.refusals import Refused
from portal.saml.sp_metadata import ServiceProvider
from portal.urls import InvalidURL, check_return_url

OUTSIDE = "outside_domains"  # the reason a refusal is audited with


def listed(sp: ServiceProvider) -> list[tuple[str, str]]:
    """(what, address) of every address the metadata gives, in its order."""
    found = [("AssertionConsumerService", e.location) for e in sp.assertion_consumers]
    for service in sp.logout_services:
        found.append(("SingleLogoutService", service.location))
        if service.response_location:
            found.append(("SingleLogoutService", service.response_location))
    return found


def problem(address: str, domains: Sequence[str], *, development: bool) -> str | None:
    """Why `address` may not be one of the vendor's, in words, or None."""
    try:
        check_return_url(address, domains, development=development)
    except InvalidURL as exc:
        reason = str(exc).removeprefix("ReturnURL ")
        if "registered domains" in reason:
            return f"it is not on {' or '.join(domains)}"
        return f"{'its' if reason.startswith(('host ', 'port ')) else 'it'} {reason}"
    return None


def outside(sp: ServiceProvider, domains: Sequence[str], *, development: bool) -> str | None:
    """The first address of `sp` the vendor may not have, as a sentence naming it; or None."""
    for what, address in listed(sp):
        if found := problem(address, domains, development=development):
            return (
                f"The metadata's {what} {address[:200]} cannot be used: {found}. Add its domain "
                "to the vendor first, or ask the site's developers for metadata with addresses "
                "on its own domains."
            )
    return None


async def of_vendor(db: AsyncSession, vendor: Vendor) -> list[str]:
    """The addresses of the vendor's saved metadata (none without any), for the rule that a
    domain is removed only when none of them is on it (portal/vendors.py)."""
    row = await service_providers.of_vendor(db, vendor)
    if row is None:
        return []
    return [address for _, address in listed(service_providers.service_provider(row))]


async def check_use(db: AsyncSession, vendor: Vendor, address: str) -> None:
    """Refused unless `address` is still one the vendor may have (its domains now): checked
    again where the portal is about to send something there."""
    domains = await vendors.select_domains(db, vendor)
    if found := problem(address, domains, development=settings.current().development):
        raise Refused(
            OUTSIDE,
            f"The address {address[:200]} in this site's registered metadata cannot be used: "
            f"{found}. The association must import the site's metadata again.",
        )

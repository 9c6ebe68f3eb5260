"""GET /saml/metadata: the portal's IdP metadata as a vendor's SP fetches it — cacheable for a
minute, its entityID derived from the issuer unless PORTAL_SAML_ENTITY_ID says otherwise, a
certificate for the portal's signing key."""

from lxml import etree
from quart import Quart

from portal.saml import names
from portal.settings import Settings
from tests.conftest import FakeClock, running_app

NS = names.NAMESPACES


async def fetched(app: Quart) -> tuple[etree._Element, dict[str, str]]:
    answer = await app.test_client().get("/saml/metadata")
    assert answer.status_code == 200
    return etree.fromstring(await answer.get_data()), {
        k.lower(): v for k, v in answer.headers.items()
    }


async def test_the_metadata_is_served_cacheable_with_the_issuers_endpoints(
    settings: Settings, clock: FakeClock
) -> None:
    async with running_app(settings, clock, issuer="https://sso.example.org") as app:
        root, headers = await fetched(app)
    assert headers["cache-control"] == "public, max-age=60"
    assert headers["content-type"].startswith("application/samlmetadata+xml")
    assert root.get("entityID") == "https://sso.example.org/saml/metadata"
    sso = root.findall("md:IDPSSODescriptor/md:SingleSignOnService", NS)
    assert {e.get("Location") for e in sso} == {"https://sso.example.org/saml/sso"}
    assert {e.get("Binding") for e in sso} == {names.REDIRECT, names.POST}
    certificates = root.findall(".//ds:X509Certificate", NS)
    assert len(certificates) == 1 and certificates[0].text


async def test_the_entity_id_is_the_one_configured(settings: Settings, clock: FakeClock) -> None:
    async with running_app(
        settings, clock, issuer="https://sso.example.org", saml_entity_id="urn:example:idp"
    ) as app:
        root, _ = await fetched(app)
    assert root.get("entityID") == "urn:example:idp"

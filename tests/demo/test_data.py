"""The demo data: created once, kept, and the demo vendors kept working."""

from sqlalchemy import func
from sqlmodel import select

from portal import single_logout, vendor_redirect_uris, vendor_secrets, vendors
from portal.admin import vendor_page
from portal.crypto import digest
from portal.demo import data, saml_vendor
from portal.models import Member, Staff, Vendor
from portal.saml import names, service_providers
from portal.saml.models import SamlServiceProvider
from tests.flows import unit_of_work

MOVED = {
    "acme-learning": "http://localhost:9101",
    "careerhub": "http://localhost:9102",
    "community-forum": "http://localhost:9103",
    "eventhub": "http://localhost:9104",
}


async def ensure(database_url: str, sites: dict[str, str] = data.DEFAULT_SITES) -> None:
    async with unit_of_work(database_url) as session:
        await data.ensure(session, sites)


async def counts(database_url: str) -> tuple[int, int, int]:
    async with unit_of_work(database_url) as session:
        found = [
            (await session.exec(select(func.count()).select_from(table))).one()
            for table in (Member, Staff, Vendor)
        ]
    return found[0], found[1], found[2]


async def acme(database_url: str) -> tuple[Vendor, list[str], list[str]]:
    async with unit_of_work(database_url) as session:
        vendor = await vendors.get_vendor(session, "acme-learning")
        domains = await vendors.select_domains(session, vendor)
        hashes = [row.secret_hash for row in await vendor_secrets.select_active(session, vendor)]
    return vendor, domains, hashes


async def test_ensure_creates_the_demo_data_once(database_url: str) -> None:
    await ensure(database_url)
    await ensure(database_url)
    assert await counts(database_url) == (3, 2, 4)
    vendor, domains, hashes = await acme(database_url)
    assert vendor.token_url == "http://localhost:8001/sso/token"
    assert vendor.signout_url == "http://localhost:8001/"
    assert vendor.start_url == "http://localhost:8001/sso/start"  # "My sites" starts there
    assert domains == ["localhost"]
    assert hashes == [digest(data.demo_secret("acme-learning"))]


async def test_the_registration_follows_the_vendor_sites(database_url: str) -> None:
    await ensure(database_url)
    await ensure(database_url, MOVED)
    vendor, _, hashes = await acme(database_url)
    assert vendor.token_url == "http://localhost:9101/sso/token"
    assert vendor.signout_url == "http://localhost:9101/"
    assert vendor.start_url == "http://localhost:9101/sso/start"
    assert hashes == [digest(data.demo_secret("acme-learning"))]
    assert await counts(database_url) == (3, 2, 4)


async def test_a_revoked_demo_secret_is_restored_and_the_staffs_secret_kept(
    database_url: str,
) -> None:
    await ensure(database_url)
    async with unit_of_work(database_url) as session:
        vendor = await vendors.get_vendor(session, "acme-learning")
        await vendor_secrets.rotate(session, vendor)
        staffs = await vendor_secrets.rotate(session, vendor)  # the demo secret is revoked now
    assert digest(data.demo_secret("acme-learning")) not in (await acme(database_url))[2]

    await ensure(database_url)
    hashes = (await acme(database_url))[2]
    assert digest(data.demo_secret("acme-learning")) in hashes
    assert digest(staffs) in hashes
    assert len(hashes) == 2


def test_describe_names_every_url_and_sign_in() -> None:
    text = data.describe("http://127.0.0.1:8000", data.DEFAULT_SITES)
    for expected in (
        "http://127.0.0.1:8000/",
        "Acme Learning        http://localhost:8001/",
        "CareerHub Jobs       http://localhost:8002/",
        "Community Forum      http://localhost:8003/  (OpenID Connect)",
        "EventHub Conferences http://localhost:8004/  (SAML 2.0)",
        "http://127.0.0.1:8000/saml/metadata",
        "http://127.0.0.1:8000/.well-known/openid-configuration",
        "ada, grace, alan",
        "admin@example.org (admin), viewer@example.org (viewer)",
        "'demo-password'",
    ):
        assert expected in text


async def forum(database_url: str) -> tuple[Vendor, list[str], list[str], list[str]]:
    async with unit_of_work(database_url) as session:
        vendor = await vendors.get_vendor(session, "community-forum")
        login = await vendor_redirect_uris.select_redirect_uris(session, vendor, "login")
        after = await vendor_redirect_uris.select_redirect_uris(session, vendor, "post_logout")
        hashes = [row.secret_hash for row in await vendor_secrets.select_active(session, vendor)]
    return vendor, login, after, hashes


async def test_the_third_vendor_speaks_openid_connect_and_follows_its_port(
    database_url: str,
) -> None:
    await ensure(database_url)
    vendor, login, after, hashes = await forum(database_url)
    assert (vendor.protocol, vendor.token_url, vendor.public_client) == ("oidc", None, False)
    assert login == ["http://localhost:8003/oidc/callback"]
    assert after == ["http://localhost:8003/signed-out"]
    assert vendor.start_url == "http://localhost:8003/sign-in"
    assert vendor.scopes.split() == ["openid", "profile", "email", "membership"]
    assert (vendor.refresh_tokens, hashes) == (True, [digest(data.demo_secret(vendor.key))])

    await ensure(database_url, MOVED)
    vendor, login, after, _ = await forum(database_url)
    assert login == ["http://localhost:9103/oidc/callback"]
    assert after == ["http://localhost:9103/signed-out"]
    assert vendor.start_url == "http://localhost:9103/sign-in"


async def eventhub(database_url: str) -> tuple[Vendor, SamlServiceProvider | None]:
    async with unit_of_work(database_url) as session:
        vendor = await vendors.get_vendor(session, "eventhub")
        return vendor, await service_providers.of_vendor(session, vendor)


async def test_the_fourth_vendor_speaks_saml_from_its_own_metadata_and_follows_its_port(
    database_url: str,
) -> None:
    await ensure(database_url)
    await ensure(database_url)  # the same key in this process: nothing to import again
    vendor, sp = await eventhub(database_url)
    assert (vendor.protocol, vendor.token_url) == ("saml", None)
    assert vendor.start_url == "http://localhost:8004/sign-in"
    assert sp is not None and sp.metadata_xml == saml_vendor.sp_metadata("http://localhost:8004")
    assert sp.entity_id == "http://localhost:8004/saml/metadata"
    assert [e["location"] for e in sp.assertion_consumers] == ["http://localhost:8004/saml/acs"]
    assert {(e["binding"], e["location"]) for e in sp.logout_services} == {
        (names.REDIRECT, "http://localhost:8004/saml/slo"),
        (names.SOAP, "http://localhost:8004/saml/soap"),
    }

    await ensure(database_url, MOVED)
    vendor, sp = await eventhub(database_url)
    assert vendor.start_url == "http://localhost:9104/sign-in"
    assert sp is not None and sp.entity_id == "http://localhost:9104/saml/metadata"
    assert await counts(database_url) == (3, 2, 4)


async def test_every_demo_vendor_is_told_when_a_member_signs_out(database_url: str) -> None:
    """Issue 26, item 1: signing out at one demo site signs the member out at every other; the
    dashboard flags none of them as "members who sign out elsewhere stay signed in here"."""
    await ensure(database_url)
    async with unit_of_work(database_url) as session:
        found = await vendors.select_vendors(session)
        eventhub = await vendors.get_vendor(session, "eventhub")
        saml_site = await service_providers.of_vendor(session, eventhub)
    assert len(found) == len(data.DEMO_VENDORS)
    assert single_logout.not_told(found, told_its_own_way=vendor_page.tells_its_own_way) == {}
    assert {v.key for v in found if v.backchannel_logout_url} == {
        key for key, _, _ in data.DEMO_VENDORS if key not in data.SAML_VENDORS
    }
    assert saml_site is not None and saml_site.logout_services  # SAML's own single logout

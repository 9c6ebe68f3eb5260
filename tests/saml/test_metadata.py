"""The portal's IdP metadata: its entityID (PORTAL_SAML_ENTITY_ID, else derived from the issuer),
endpoints, NameID formats and windows; and its certificates, made from the portal's own signing
keys — the same bytes every time, the next key's published as soon as a rotation publishes it."""

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import db, key_management, signing_keys
from portal.saml import certificates, metadata, names
from portal.saml.certificates import der_base64
from portal.settings import Settings, SettingsError, load_settings
from tests.saml import sp

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
NS = names.NAMESPACES


def idp_metadata() -> etree._Element:
    xml = metadata.idp_metadata(
        entity_id=sp.IDP_ENTITY_ID,
        origin="https://sso.example.org",
        certificates=[sp.signer("idp").certificate, sp.signer("next").certificate],
        now=NOW,
    )
    return etree.fromstring(xml)


def test_the_metadata_describes_the_idp() -> None:
    root = idp_metadata()
    assert root.get("entityID") == sp.IDP_ENTITY_ID
    assert root.get("validUntil") == "2026-12-04T12:00:00Z"
    assert root.get("cacheDuration") == "PT600S"
    idp = root.find("md:IDPSSODescriptor", NS)
    assert idp is not None
    assert idp.get("protocolSupportEnumeration") == names.SAMLP
    assert idp.get("WantAuthnRequestsSigned") == "false"
    keys = idp.findall("md:KeyDescriptor", NS)
    assert [k.get("use") for k in keys] == ["signing", "signing"]
    published = [
        k.findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=NS) for k in keys
    ]
    assert published == [der_base64(sp.signer(n).certificate) for n in ("idp", "next")]
    services = {
        (e.tag.rpartition("}")[2], e.get("Binding")): e.get("Location")
        for e in idp
        if e.get("Binding")
    }
    assert services == {
        ("SingleLogoutService", names.REDIRECT): "https://sso.example.org/saml/slo",
        ("SingleLogoutService", names.POST): "https://sso.example.org/saml/slo",
        ("SingleSignOnService", names.REDIRECT): "https://sso.example.org/saml/sso",
        ("SingleSignOnService", names.POST): "https://sso.example.org/saml/sso",
    }
    formats = [e.text for e in idp.findall("md:NameIDFormat", NS)]
    assert formats == [names.PERSISTENT, names.EMAIL, names.UNSPECIFIED]


def test_the_entity_id_comes_from_the_issuer_unless_set() -> None:
    derived = load_settings(issuer="https://sso.example.org")
    assert metadata.entity_id(derived, "http://ignored") == "https://sso.example.org/saml/metadata"
    chosen = load_settings(saml_entity_id="urn:example:association:idp")
    assert metadata.entity_id(chosen, "http://x") == "urn:example:association:idp"
    development = load_settings(env="development")
    assert metadata.entity_id(development, "http://127.0.0.1:5000") == (
        "http://127.0.0.1:5000/saml/metadata"
    )


@pytest.mark.parametrize("value", ["not a uri", "relative/path", "https://x/" + "y" * 1024])
def test_a_bad_entity_id_setting_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="PORTAL_SAML_ENTITY_ID"):
        load_settings(saml_entity_id=value)


def test_a_certificate_is_the_same_bytes_every_time_and_names_the_issuer_host() -> None:
    key = sp.signer("idp").key
    made = datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC)
    first = certificates.certificate(key, kid="k1", made_at=made, host="sso.example.org")
    again = certificates.certificate(key, kid="k1", made_at=made, host="sso.example.org")
    assert der_base64(first) == der_base64(again)
    subject = first.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert subject == "sso.example.org" and first.issuer == first.subject
    assert first.not_valid_before_utc == made.replace(microsecond=0)
    assert first.not_valid_after_utc.year == 9999
    assert first.public_key() == key.public_key()
    other = certificates.certificate(key, kid="k2", made_at=made, host="sso.example.org")
    assert other.serial_number != first.serial_number


async def in_unit(database_url: str, work):  # type: ignore[no-untyped-def]
    engine = db.create_engine(database_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


async def test_a_rotation_publishes_the_next_certificate_before_it_signs(
    database_url: str, settings: Settings
) -> None:
    issuer = "https://sso.example.org"

    async def signer_at(now: datetime):  # type: ignore[no-untyped-def]
        async def work(session: AsyncSession):  # type: ignore[no-untyped-def]
            return await certificates.signer(session, issuer=issuer, now=now, settings=settings)

        return await in_unit(database_url, work)

    async def published_at(now: datetime) -> list[str]:
        async def work(session: AsyncSession) -> list[str]:
            found = await certificates.published(session, issuer=issuer, now=now, settings=settings)
            return [der_base64(c) for c in found]

        return await in_unit(database_url, work)

    first = await signer_at(NOW)
    assert isinstance(first.key, RSAPrivateKey)
    assert await published_at(NOW) == [der_base64(first.certificate)]

    async def rotate(session: AsyncSession) -> None:
        await key_management.rotate(session, now=NOW, settings=settings)

    await in_unit(database_url, rotate)
    both = await published_at(NOW)
    assert len(both) == 2 and both[1] == der_base64(first.certificate)  # newest first
    assert der_base64((await signer_at(NOW)).certificate) == both[1]  # the old one still signs
    later = NOW + signing_keys.PUBLISHED_BEFORE_SIGNING
    assert der_base64((await signer_at(later)).certificate) == both[0]  # now the new one
    assert await published_at(later) == both  # the old one stays published for a while

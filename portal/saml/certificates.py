"""The identity provider's X.509 signing certificates, made from the portal's own RSA signing
keys (portal/signing_keys.py), so that `portal keys` rotation, revocation and resealing cover
SAML too: the metadata publishes a certificate for every published RS256 key — the next one as
soon as a rotation publishes it, before it signs — and responses are signed with the current one.

Where a certificate is kept: nowhere. It is derived, the same in every process and every time:
self-signed with RSA PKCS#1 v1.5 (deterministic), its subject the issuer's host, its serial from
the key's kid, valid from the key's creation. An SP compares certificates byte for byte (its
copy of the metadata against a response's KeyInfo), and a derived one never differs; a stored
one would need a migration and a second thing to keep in step with every key operation, and
would keep an old host after PORTAL_ISSUER changes.

Valid until 9999-12-31 (RFC 5280 §4.1.2.5, "no well-defined expiration"): a key's life ends
when a rotation or revocation takes it out of the metadata, not at a date fixed when it was
made; SAML SPs trust a key because the metadata lists it (saml2int; SAML Metadata
Interoperability Profile), not for its certificate's dates."""

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509.oid import NameOID
from joserfc.jwk import RSAKey
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import signing_keys
from portal.settings import Settings

ALG = "RS256"  # SAML SPs expect RSA; the portal's RS256 key signs for SAML as for OIDC
NOT_AFTER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@dataclass(frozen=True)
class Signer:
    """What signs a SAML message: the private key and the certificate published for it."""

    kid: str
    key: RSAPrivateKey
    certificate: x509.Certificate

    @property
    def private_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def issuer_host(issuer: str) -> str:
    return urlsplit(issuer).hostname or issuer


def certificate(key: RSAPrivateKey, *, kid: str, made_at: datetime, host: str) -> x509.Certificate:
    """The self-signed certificate of `key` (kid `kid`, made at `made_at`) for the issuer
    `host`: the same bytes for the same inputs. Made each time (one RSA signature, about a
    millisecond) rather than kept: nothing to keep in step."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    serial = int.from_bytes(hashlib.sha256(kid.encode()).digest()[:16], "big") or 1
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(made_at.astimezone(UTC).replace(microsecond=0))
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def der_base64(cert: x509.Certificate) -> str:
    """The certificate as ds:X509Certificate holds it: base64 of its DER, on one line."""
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def _rsa(key: signing_keys.Key) -> RSAPrivateKey:
    private = key.private_key if isinstance(key, RSAKey) else None
    if not isinstance(private, RSAPrivateKey):
        raise TypeError("SAML signs with the portal's RS256 key only")
    return private


async def published(
    db: AsyncSession, *, issuer: str, now: datetime, settings: Settings
) -> list[x509.Certificate]:
    """A certificate for every published RS256 key, newest first: the one about to sign after
    a rotation, the one signing, and those rotated out that are still published."""
    found = await signing_keys.opened_keys(db, ALG, now=now, settings=settings)
    host = issuer_host(issuer)
    return [
        certificate(_rsa(key), kid=stored.kid, made_at=stored.created_at, host=host)
        for stored, key in found
    ]


async def signer(db: AsyncSession, *, issuer: str, now: datetime, settings: Settings) -> Signer:
    """The key that signs SAML messages now, with its certificate."""
    stored, key = await signing_keys.signing_key(db, ALG, now=now, settings=settings)
    rsa = _rsa(key)
    cert = certificate(rsa, kid=stored.kid, made_at=stored.created_at, host=issuer_host(issuer))
    return Signer(stored.kid, rsa, cert)

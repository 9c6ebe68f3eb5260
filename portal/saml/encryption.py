"""Encrypting an Assertion for a vendor (SAML Core §6, XML Encryption 1.1): a fresh AES key per
assertion encrypts it (with the `xmlsec` binding), and that key is encrypted to the vendor's
registered encryption certificate with RSA-OAEP (with `cryptography`, written as the
EncryptedKey by hand: xmlsec would need a keys manager for it, whose creation costs about 24 ms
of CPU each time — it loads the system's certificate store). AES-GCM by default
(authenticated: CBC without a MAC is open to padding-oracle attacks on XML Encryption, Jager and
Somorovsky 2011); AES-CBC only as a per-vendor choice for older SPs that cannot decrypt GCM."""

import base64
import secrets
from enum import StrEnum

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from lxml import etree
from xmlsec import constants as consts

from portal.saml import names
from portal.saml.xml_parser import Element

# rsa-oaep-mgf1p: OAEP with MGF1 and SHA-1, the XML Encryption 1.0 algorithm every SP decrypts
# (SHA-1's collisions do not weaken OAEP).
RSA_OAEP = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303


class Cipher(StrEnum):
    AES256_GCM = "aes256-gcm"
    AES128_GCM = "aes128-gcm"
    AES256_CBC = "aes256-cbc"
    AES128_CBC = "aes128-cbc"


_TRANSFORMS = {
    Cipher.AES256_GCM: (consts.TransformAes256Gcm, 32),
    Cipher.AES128_GCM: (consts.TransformAes128Gcm, 16),
    Cipher.AES256_CBC: (consts.TransformAes256Cbc, 32),
    Cipher.AES128_CBC: (consts.TransformAes128Cbc, 16),
}


def encrypt_assertion(
    assertion: Element, certificate: x509.Certificate, cipher: Cipher = Cipher.AES256_GCM
) -> Element:
    """Replace `assertion` (signed already, in its Response) with a saml:EncryptedAssertion
    that only the holder of `certificate`'s private key can open; returns that element."""
    public = certificate.public_key()
    if not isinstance(public, RSAPublicKey):
        raise ValueError("an encryption certificate must hold an RSA key")
    transform, size = _TRANSFORMS[cipher]
    session_key = secrets.token_bytes(size)
    template = xmlsec.template.encrypted_data_create(
        assertion, transform, type=consts.TypeEncElement, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    context = xmlsec.EncryptionContext()
    context.key = xmlsec.Key.from_binary_data(consts.KeyDataAes, session_key)
    # Encrypted where it stands, so that it keeps its own namespace declaration (moved first, lxml
    # would drop it as redundant, and the SP would decrypt an assertion with an unbound prefix).
    encrypted = context.encrypt_xml(template, assertion)
    _add_encrypted_key(key_info, public.encrypt(session_key, _OAEP))
    wrapper = etree.Element(f"{{{names.SAML}}}EncryptedAssertion", nsmap={"saml": names.SAML})
    encrypted.addprevious(wrapper)
    wrapper.append(encrypted)
    return wrapper


def _add_encrypted_key(key_info: Element, encrypted_key: bytes) -> None:
    xenc = f"{{{names.XENC}}}"
    key = etree.SubElement(key_info, xenc + "EncryptedKey", nsmap={"xenc": names.XENC})
    method = etree.SubElement(key, xenc + "EncryptionMethod", Algorithm=RSA_OAEP)
    etree.SubElement(method, f"{{{names.DS}}}DigestMethod", Algorithm=SHA1)
    data = etree.SubElement(key, xenc + "CipherData")
    etree.SubElement(data, xenc + "CipherValue").text = base64.b64encode(encrypted_key).decode()

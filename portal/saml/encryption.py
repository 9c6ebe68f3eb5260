"""Encrypting an Assertion for a vendor (SAML Core §6, XML Encryption 1.1) with the `xmlsec`
binding: a fresh AES key per assertion, itself encrypted to the vendor's registered encryption
certificate with RSA-OAEP. AES-GCM by default (authenticated: CBC without a MAC is open to
padding-oracle attacks on XML Encryption, Jager and Somorovsky 2011); AES-CBC only as a
per-vendor choice for older SPs that cannot decrypt GCM."""

from enum import StrEnum

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from xmlsec import constants as consts

from portal.saml import names
from portal.saml.xml_parser import Element


class Cipher(StrEnum):
    AES256_GCM = "aes256-gcm"
    AES128_GCM = "aes128-gcm"
    AES256_CBC = "aes256-cbc"
    AES128_CBC = "aes128-cbc"


_TRANSFORMS = {
    Cipher.AES256_GCM: (consts.TransformAes256Gcm, 256),
    Cipher.AES128_GCM: (consts.TransformAes128Gcm, 128),
    Cipher.AES256_CBC: (consts.TransformAes256Cbc, 256),
    Cipher.AES128_CBC: (consts.TransformAes128Cbc, 128),
}


def encrypt_assertion(
    assertion: Element, certificate: x509.Certificate, cipher: Cipher = Cipher.AES256_GCM
) -> Element:
    """Replace `assertion` (signed already, in its Response) with a saml:EncryptedAssertion
    that only the holder of `certificate`'s private key can open; returns that element."""
    transform, bits = _TRANSFORMS[cipher]
    template = xmlsec.template.encrypted_data_create(
        assertion, transform, type=consts.TypeEncElement, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, consts.TransformRsaOaep)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    manager = xmlsec.KeysManager()
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    manager.add_key(xmlsec.Key.from_memory(pem, consts.KeyDataFormatCertPem, None))
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(consts.KeyDataAes, bits, consts.KeyDataTypeSession)
    # Encrypted where it stands, so that it keeps its own namespace declaration (moved first, lxml
    # would drop it as redundant, and the SP would decrypt an assertion with an unbound prefix).
    encrypted = context.encrypt_xml(template, assertion)
    wrapper = etree.Element(f"{{{names.SAML}}}EncryptedAssertion", nsmap={"saml": names.SAML})
    encrypted.addprevious(wrapper)
    wrapper.append(encrypted)
    return wrapper

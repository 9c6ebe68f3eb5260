"""pysaml2 as a vendor's SP in the tests: a second stock SAML library no one here wrote, set up
from the portal's metadata URL alone and its own keys, with its own SP metadata (what the vendor
is registered from).

Its crypto is Debian's `xmlsec1` program, pysaml2's default backend: its only other one,
pyXMLSecurity, installs a module also named `xmlsec` (the portal's python-xmlsec) and neither
encrypts nor decrypts. The portal itself never uses the program: pysaml2 is only the SP at the
other end."""

import shutil
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, BINDING_SOAP
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor

from portal.saml import names
from tests.saml import sp

XMLSEC1 = shutil.which("xmlsec1")


def key_files(directory: Path, name: str) -> dict[str, str]:
    """The test SP key `name` (tests/saml/sp.py) as the PEM files pysaml2 reads."""
    signer = sp.signer(name)
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    key.write_bytes(signer.private_pem)
    cert.write_bytes(signer.certificate.public_bytes(serialization.Encoding.PEM))
    return {"key_file": str(key), "cert_file": str(cert)}


def config(
    directory: Path,
    metadata_url: str,
    *,
    encrypted: bool = False,
    soap_logout: str | None = None,
    allowed_skew: int | None = None,
) -> SPConfig:
    """The SP's configuration: its own endpoints and keys, and the portal read from
    `metadata_url` — nothing else about the portal.
    `allowed_skew`: the seconds its clock may differ from the portal's."""
    logout_services = [(sp.SLO, BINDING_HTTP_REDIRECT)]
    if soap_logout is not None:
        logout_services.append((soap_logout, BINDING_SOAP))
    signing = key_files(directory, "sp")
    settings: dict[str, Any] = {
        "entityid": sp.ENTITY_ID,
        "xmlsec_binary": XMLSEC1,
        "metadata": {"remote": [{"url": metadata_url}]},  # fetched as the SP is made
        **signing,
        "accepted_time_diff": allowed_skew,
        "allow_unknown_attributes": True,  # the vendor's own fields (ImisId …), NameFormat basic
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(sp.ACS, BINDING_HTTP_POST)],
                    "single_logout_service": logout_services,
                },
                "name_id_format": [names.PERSISTENT],
                "signing_algorithm": names.RSA_SHA256,  # the portal refuses SHA-1
                "digest_algorithm": names.SHA256,
                "authn_requests_signed": True,
                "logout_requests_signed": True,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "allow_unsolicited": False,
            }
        },
    }
    if encrypted:
        settings["encryption_keypairs"] = [key_files(directory, "sp-encryption")]
    found = SPConfig()
    found.load(settings)
    return found


def client(config: SPConfig) -> Saml2Client:
    return Saml2Client(config=config)


def own_metadata(config: SPConfig) -> bytes:
    """The SP's metadata as pysaml2 publishes it: what the vendor is registered from."""
    return str(entity_descriptor(config)).encode()

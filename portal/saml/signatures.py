"""XML signatures of SAML messages (SAML Core §5, Bindings §3.4.4.1), with the `xmlsec` binding
(libxmlsec1 ships in its wheels) for enveloped signatures, and `cryptography` for the
HTTP-Redirect binding's signature over the query string.

Verification trusts only the certificates of the vendor's registered metadata (a KeyInfo in the
message is never used to find a key) and only RSA with SHA-256 or stronger (SHA-1 collides).
Against signature wrapping (XSW), an enveloped signature is accepted only as a direct child of
the message's root element, referencing that root by its ID, the only element with that ID, with
no transform but enveloped-signature and exclusive c14n; and the caller reads only the element
the verified signature references, which verify_enveloped returns."""

import base64
from collections.abc import Iterable, Sequence
from urllib.parse import quote, unquote_plus

import xmlsec
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from lxml import etree
from xmlsec import constants as consts

from portal.saml import names
from portal.saml.certificates import Signer, der_base64
from portal.saml.refusals import Refused
from portal.saml.xml_parser import Element, children, exactly_one

SIGNATURE_ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    names.RSA_SHA256: hashes.SHA256(),
    names.RSA_SHA384: hashes.SHA384(),
    names.RSA_SHA512: hashes.SHA512(),
}
DIGESTS = (names.SHA256, names.SHA384, names.SHA512)
CANONICALIZATIONS = (names.EXC_C14N, names.EXC_C14N_WITH_COMMENTS)
TRANSFORMS = (names.ENVELOPED, *CANONICALIZATIONS)
_REDIRECT_SIGNED = ("SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature")


def sign_enveloped(element: Element, signer: Signer) -> None:
    """Sign `element` (which has an ID) in place: RSA-SHA256, exclusive c14n, the Signature
    right after its Issuer as the SAML schema places it, the certificate in KeyInfo."""
    template = xmlsec.template.create(
        element, consts.TransformExclC14N, consts.TransformRsaSha256, ns="ds"
    )
    issuer = element.find(f"{{{names.SAML}}}Issuer")
    element.insert(0 if issuer is None else element.index(issuer) + 1, template)
    reference = xmlsec.template.add_reference(
        template, consts.TransformSha256, uri="#" + element.get("ID", "")
    )
    xmlsec.template.add_transform(reference, consts.TransformEnveloped)
    xmlsec.template.add_transform(reference, consts.TransformExclC14N)
    x509_data = xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(template))
    xmlsec.template.x509_data_add_certificate(x509_data).text = der_base64(signer.certificate)
    xmlsec.tree.add_ids(element, ["ID"])
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(signer.private_pem, consts.KeyDataFormatPem, None)
    context.sign(template)


def verify_enveloped(root: Element, certificates: Sequence[x509.Certificate]) -> Element:
    """The element the message's one valid signature references — `root` itself — or Refused.
    Callers read the message from what this returns, never from the document around it."""
    signature = _the_signature(root)
    referenced = _referenced(root, signature)
    for certificate in certificates:
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        context = xmlsec.SignatureContext()
        context.key = xmlsec.Key.from_memory(pem, consts.KeyDataFormatCertPem, None)
        try:
            context.verify(signature)
        except xmlsec.Error:
            continue
        return referenced
    raise Refused("bad_signature", "The signature does not verify with the vendor's certificates.")


def _the_signature(root: Element) -> Element:
    signatures = children(root, "ds:Signature")
    if not signatures:
        raise Refused("unsigned", "The message is not signed, and it must be.")
    if len(signatures) > 1 or len(list(root.iter(f"{{{names.DS}}}Signature"))) > 1:
        raise Refused("signature_wrapping", "The message carries more than one signature.")
    return signatures[0]


def _referenced(root: Element, signature: Element) -> Element:
    """The element the signature references, after checking that it is `root` (and the only
    element with that ID), and that only the expected algorithms are used."""
    signed_info = exactly_one(signature, "ds:SignedInfo", "The signature's SignedInfo")
    _algorithm(signed_info, "ds:CanonicalizationMethod", CANONICALIZATIONS, "canonicalization")
    _algorithm(signed_info, "ds:SignatureMethod", tuple(SIGNATURE_ALGORITHMS), "signature")
    reference = exactly_one(signed_info, "ds:Reference", "The signature's one Reference")
    _algorithm(reference, "ds:DigestMethod", DIGESTS, "digest")
    for transform in children(reference, "ds:Transforms/ds:Transform"):
        if transform.get("Algorithm") not in TRANSFORMS:
            raise Refused("signature_algorithm", "The signature uses a transform SAML forbids.")
    own_id = root.get("ID")
    if not own_id or reference.get("URI") != "#" + own_id:
        raise Refused("signature_wrapping", "The signature does not cover the message itself.")
    if sum(1 for element in root.iter(etree.Element) if element.get("ID") == own_id) != 1:
        raise Refused("signature_wrapping", "The message's ID is used more than once.")
    xmlsec.tree.add_ids(root, ["ID"])
    return root


def _algorithm(parent: Element, path: str, allowed: tuple[str, ...], what: str) -> None:
    found = exactly_one(parent, path, f"The signature's {what} method").get("Algorithm")
    if found not in allowed:
        raise Refused(
            "signature_algorithm",
            f"The {what} algorithm {found} is not accepted: sign with RSA-SHA256 "
            "and exclusive canonicalization.",
        )


def raw_parameters(query: str) -> dict[str, str]:
    """The signed parameters of an HTTP-Redirect query string, as sent (still URL-encoded):
    the signature covers the octets the SP sent, not a decoded and re-encoded copy."""
    found: dict[str, str] = {}
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name in _REDIRECT_SIGNED:
            if name in found:
                raise Refused("duplicate", f"The query string has {name} more than once.")
            found[name] = value
    return found


def verify_redirect(query: str, message: str, certificates: Iterable[x509.Certificate]) -> None:
    """Check the HTTP-Redirect signature (Bindings §3.4.4.1) of the query string `query`, whose
    `message` parameter (SAMLRequest or SAMLResponse) is the one signed; Refused unless it is
    present and verifies with one of `certificates`."""
    raw = raw_parameters(query)
    if "Signature" not in raw or "SigAlg" not in raw:
        raise Refused(
            "unsigned", "The request is not signed (no Signature and SigAlg), and it must be."
        )
    algorithm = SIGNATURE_ALGORITHMS.get(unquote_plus(raw["SigAlg"]))
    if algorithm is None:
        raise Refused(
            "signature_algorithm", "SigAlg is not accepted: sign with RSA-SHA256 or stronger."
        )
    signed = _signed_octets(message, raw.get(message, ""), raw.get("RelayState"), raw["SigAlg"])
    try:
        signature = base64.b64decode(unquote_plus(raw["Signature"]), validate=True)
    except ValueError:
        raise Refused("bad_signature", "Signature is not base64.") from None
    for certificate in certificates:
        public = certificate.public_key()
        if not isinstance(public, RSAPublicKey):
            continue
        try:
            public.verify(signature, signed, padding.PKCS1v15(), algorithm)
        except InvalidSignature:
            continue
        return
    raise Refused("bad_signature", "The signature does not verify with the vendor's certificates.")


def _signed_octets(message: str, value: str, relay_state: str | None, sig_alg: str) -> bytes:
    parts = [f"{message}={value}"]
    if relay_state is not None:
        parts.append(f"RelayState={relay_state}")
    parts.append(f"SigAlg={sig_alg}")
    return "&".join(parts).encode("ascii", "replace")


def sign_redirect(message: str, value: str, relay_state: str | None, signer: Signer) -> str:
    """The query string of an HTTP-Redirect message the portal sends, signed RSA-SHA256."""
    encoded = [quote(value, safe=""), None if relay_state is None else quote(relay_state, safe="")]
    sig_alg = quote(names.RSA_SHA256, safe="")
    signed = _signed_octets(message, encoded[0] or "", encoded[1], sig_alg)
    signature = signer.key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return (
        signed.decode("ascii")
        + "&Signature="
        + quote(base64.b64encode(signature).decode("ascii"), safe="")
    )

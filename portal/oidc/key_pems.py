"""Each published signing key as a PEM public key, at /oidc/keys/<kid>.pem beside the JWKS
(docs/oidc.md): what `openssl_pkey_get_public` and most TLS libraries take as they are, so a
vendor need not build a key from a JWK's `n` and `e` by hand (PHP cannot, without ~35 lines).

A PEM, not a certificate (`x5c`): the public key is all a signature check needs, and it comes
from the stored public part alone, as the JWKS does. A certificate would have to be signed by
the private key each time the key set is built, and would name the issuer's host, which the
cached key set does not depend on."""

import json
from functools import lru_cache

from joserfc.jwk import ECKey, RSAKey

KEPT = 64  # (key set, kid) pairs: a few keys per copy of the key set


@lru_cache(maxsize=KEPT)
def pem(jwks_json: bytes, kid: str) -> bytes | None:
    """The public key `kid` of the served key set `jwks_json`, as PEM (SubjectPublicKeyInfo);
    None when the set has no such key. Worked out once per copy of the key set: the same bytes
    object is served until a key changes (portal/signing_keys.py)."""
    for jwk in json.loads(jwks_json)["keys"]:
        if jwk.get("kid") == kid:
            key = RSAKey.import_key(jwk) if jwk["kty"] == "RSA" else ECKey.import_key(jwk)
            return key.as_pem(private=False)
    return None

"""ID tokens (OpenID Connect Core §2, §3.1.3.6): their claims, signed with the portal's
published keys (portal/signing_keys.py, joserfc), and an `id_token_hint` read back."""

from datetime import datetime, timedelta
from typing import Any, Protocol

from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.errors import JoseError
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import signing_keys
from portal.claims import member_subject
from portal.models import SIGNING_ALGORITHMS
from portal.settings import Settings

ID_TOKEN_TTL = timedelta(minutes=5)


class Audience(Protocol):
    """What of a vendor an ID token names (a Vendor, or the token endpoint's record)."""

    @property
    def key(self) -> str: ...
    @property
    def pairwise_subject(self) -> bool: ...
    @property
    def id_token_signed_response_alg(self) -> str: ...


def subject(vendor: Audience, imis_id: str, pairwise_key: bytes) -> str:
    """The member's `sub` at this vendor (portal/claims.py: logout tokens use it too)."""
    return member_subject(vendor.key, vendor.pairwise_subject, imis_id, pairwise_key)


def claims(
    *,
    issuer: str,
    vendor: Audience,
    imis_id: str,
    sid: str,
    auth_time: datetime | None,
    nonce: str | None,
    access_token: str,
    pairwise_key: bytes,
    now: datetime,
) -> dict[str, Any]:
    """An ID token's claims: the member (`imis_id`) in the portal session `sid`, signed in at
    `auth_time`, for the grant's `nonce`."""
    found: dict[str, Any] = {
        "iss": issuer,
        "sub": subject(vendor, imis_id, pairwise_key),
        "aud": vendor.key,
        "exp": int((now + ID_TOKEN_TTL).timestamp()),
        "iat": int(now.timestamp()),
        "auth_time": int(auth_time.timestamp()) if auth_time else int(now.timestamp()),
        "sid": sid,
        # The left half of the access token's hash by the ID token's own algorithm (SHA-256
        # for both RS256 and ES256): Core §3.1.3.6.
        "at_hash": create_half_hash(access_token, vendor.id_token_signed_response_alg).decode(),
    }
    if nonce:
        found["nonce"] = nonce
    return found


async def read_hint(
    db: AsyncSession, token: str, *, issuer: str, now: datetime, settings: Settings
) -> dict[str, Any] | None:
    """The claims of an ID token this issuer signed with a key it still publishes, expired or
    not (RP-Initiated Logout 1.0 §2: a hint may be old); None for anything else."""
    key_set = await signing_keys.verification_keys(db, now=now, settings=settings)
    try:
        decoded = jwt.decode(token, key_set, algorithms=list(SIGNING_ALGORITHMS))
    except (JoseError, ValueError):
        return None
    found = dict(decoded.claims)
    if found.get("iss") != issuer or not isinstance(found.get("aud"), str | list):
        return None
    return found

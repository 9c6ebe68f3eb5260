"""ID tokens (OpenID Connect Core §2, §3.1.3.6): their claims, signed with the portal's
published keys (portal/signing_keys.py, joserfc), and an `id_token_hint` read back."""

from datetime import datetime, timedelta
from typing import Any

from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.errors import JoseError
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import signing_keys
from portal.auth.models import AuthSession
from portal.claims import member_subject
from portal.models import SIGNING_ALGORITHMS, Member, Vendor
from portal.oidc.models import OidcGrant
from portal.settings import Settings

ID_TOKEN_TTL = timedelta(minutes=5)


def subject(vendor: Vendor, imis_id: str, pairwise_key: bytes) -> str:
    """The member's `sub` at this vendor (portal/claims.py: logout tokens use it too)."""
    return member_subject(vendor.key, vendor.pairwise_subject, imis_id, pairwise_key)


def claims(
    *,
    issuer: str,
    vendor: Vendor,
    member: Member,
    grant: OidcGrant,
    session: AuthSession,
    access_token: str,
    pairwise_key: bytes,
    now: datetime,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "iss": issuer,
        "sub": subject(vendor, member.imis_id, pairwise_key),
        "aud": vendor.key,
        "exp": int((now + ID_TOKEN_TTL).timestamp()),
        "iat": int(now.timestamp()),
        "auth_time": int(grant.auth_time.timestamp()) if grant.auth_time else int(now.timestamp()),
        "sid": session.sid,
        # The left half of the access token's hash by the ID token's own algorithm (SHA-256
        # for both RS256 and ES256): Core §3.1.3.6.
        "at_hash": create_half_hash(access_token, vendor.id_token_signed_response_alg).decode(),
    }
    if grant.nonce:
        found["nonce"] = grant.nonce
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

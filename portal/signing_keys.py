"""The portal's signing keys: they sign ID tokens and logout tokens, and their public halves are
published as the JWKS that vendors verify those tokens with.

Kept in Postgres, so every process signs with the same key and publishes the same set (no
in-process copy that could disagree). A key is made on first use, one per algorithm; `rotate`
retires the signing key but keeps it published until every token it signed has expired."""

import asyncio
import base64
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.jwk import ECKey, KeyParameters, KeySet, RSAKey
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.errors import PortalError
from portal.models import SigningKey
from portal.settings import Settings

ALGORITHMS = ("RS256", "ES256")
DEFAULT_ALGORITHM = "RS256"
# Longer than anything signed lives (ID tokens, logout tokens), so a vendor that fetched the
# keys before a rotation can still verify what was signed just before it.
PUBLISHED_AFTER_ROTATION = timedelta(days=2)
Key = RSAKey | ECKey


class KeyUnreadable(PortalError):
    """A stored key that none of the configured secret keys can open."""

    def __init__(self, kid: str) -> None:
        super().__init__(
            f"the signing key {kid} cannot be opened with PORTAL_SECRET_KEY or its fallbacks; "
            "restore the old key in PORTAL_SECRET_KEY_FALLBACKS or run `portal keys rotate`",
            500,
        )


async def sign(
    db: AsyncSession,
    claims: dict[str, Any],
    *,
    now: datetime,
    settings: Settings,
    typ: str | None = None,
    alg: str = DEFAULT_ALGORITHM,
) -> str:
    """`claims` as a compact JWS, signed with the current key for `alg`, its `kid` in the
    header (so vendors pick the right published key across a rotation)."""
    row = await _current(db, alg, now=now, settings=settings)
    header = {"alg": alg, "kid": row.kid} | ({"typ": typ} if typ else {})
    return jwt.encode(header, claims, _open(row, settings))


async def jwks(db: AsyncSession, *, now: datetime, settings: Settings) -> dict[str, Any]:
    """The public JWK Set: the signing key of every algorithm and the rotated ones still
    published."""
    for alg in ALGORITHMS:
        await _current(db, alg, now=now, settings=settings)
    query = select(SigningKey).where(
        or_(col(SigningKey.retires_at).is_(None), col(SigningKey.retires_at) > now)
    )
    rows = (await db.exec(query.order_by(col(SigningKey.id)))).all()
    keys = KeySet([_open(row, settings) for row in rows])
    return dict(keys.as_dict(private=False))


async def verification_keys(db: AsyncSession, *, now: datetime, settings: Settings) -> KeySet:
    """The published keys as a joserfc KeySet, to verify what the portal signed (for instance
    an `id_token_hint`)."""
    return KeySet.import_key_set(await jwks(db, now=now, settings=settings))  # type: ignore[arg-type]


async def rotate(db: AsyncSession, *, now: datetime, settings: Settings) -> list[str]:
    """A new signing key for every algorithm; the old ones stay published for
    PUBLISHED_AFTER_ROTATION. Returns the new kids."""
    await db.exec(
        update(SigningKey)
        .where(col(SigningKey.rotated_at).is_(None))
        .values(rotated_at=now, retires_at=now + PUBLISHED_AFTER_ROTATION)
    )
    return [(await _current(db, alg, now=now, settings=settings)).kid for alg in ALGORITHMS]


async def _current(db: AsyncSession, alg: str, *, now: datetime, settings: Settings) -> SigningKey:
    """The key that signs for `alg`, made on first use. Two processes making one at once: the
    partial unique index keeps one, and both use it."""
    if alg not in ALGORITHMS:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    found = await _select_current(db, alg)
    if found is not None:
        return found
    kid = secrets.token_urlsafe(12)
    key = await asyncio.to_thread(_generate, alg, kid)  # RSA key generation takes a while
    sealed = _sealer(settings).encrypt(json.dumps(key.as_dict(private=True)).encode()).decode()
    await db.exec(
        insert(SigningKey)
        .values(kid=kid, alg=alg, sealed_jwk=sealed, created_at=now)
        .on_conflict_do_nothing(
            index_elements=["alg"], index_where=col(SigningKey.rotated_at).is_(None)
        )
    )
    created = await _select_current(db, alg)
    assert created is not None  # inserted here, or by the process that won the race
    return created


async def _select_current(db: AsyncSession, alg: str) -> SigningKey | None:
    query = select(SigningKey).where(SigningKey.alg == alg, col(SigningKey.rotated_at).is_(None))
    return (await db.exec(query.execution_options(populate_existing=True))).first()


def _generate(alg: str, kid: str) -> Key:
    parameters: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=parameters)
    return ECKey.generate_key("P-256", parameters=parameters)


def _open(row: SigningKey, settings: Settings) -> Key:
    try:
        plain = _sealer(settings).decrypt(row.sealed_jwk.encode())
    except InvalidToken:
        raise KeyUnreadable(row.kid) from None
    return (RSAKey if row.alg == "RS256" else ECKey).import_key(json.loads(plain))


def _sealer(settings: Settings) -> MultiFernet:
    """Private keys are stored encrypted with a key derived from PORTAL_SECRET_KEY (and opened
    with its fallbacks too), so a copy of the database alone cannot sign tokens."""
    secrets_in_order = [settings.signing_key(), *settings.fallback_keys]
    return MultiFernet([Fernet(_derive(secret)) for secret in secrets_in_order])


def _derive(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal signing keys")
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))

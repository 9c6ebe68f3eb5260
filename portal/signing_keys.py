"""The portal's signing keys: they sign ID tokens and logout tokens, and their public halves are
published as the JWKS that vendors verify those tokens with.

Kept in Postgres, so every process signs with the same key and publishes the same set (no
in-process copy that could disagree). A key is made on first use, one per algorithm. `rotate`
publishes a new key at once but signs with it only PUBLISHED_BEFORE_SIGNING later, so vendors'
cached copies of the keys hold it before the first token it signs; the old key keeps signing
until then and stays published until every token it signed has expired. `immediately` (a
compromised key) signs with the new key at once."""

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
# Longer than relying parties keep the key set before fetching it again (openid-client refetches
# for an unknown kid only after 60 s; Spring and .NET cache it for 5 minutes).
PUBLISHED_BEFORE_SIGNING = timedelta(minutes=15)
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


async def rotate(
    db: AsyncSession, *, now: datetime, settings: Settings, immediately: bool = False
) -> list[SigningKey]:
    """A new key for every algorithm, published now and signing from PUBLISHED_BEFORE_SIGNING
    on (or now, `immediately`); the keys it replaces stay published until
    PUBLISHED_AFTER_ROTATION after that. Returns the new keys."""
    signs_from = now if immediately else now + PUBLISHED_BEFORE_SIGNING
    await db.exec(
        update(SigningKey)
        .where(col(SigningKey.retires_at).is_(None))
        .values(retires_at=signs_from + PUBLISHED_AFTER_ROTATION)
    )
    return [await _newest(db, alg, signs_from=signs_from, settings=settings) for alg in ALGORITHMS]


async def _current(db: AsyncSession, alg: str, *, now: datetime, settings: Settings) -> SigningKey:
    """The key that signs for `alg` now: the newest whose time to sign has come (made on first
    use)."""
    if alg not in ALGORITHMS:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    query = (
        select(SigningKey)
        .where(
            SigningKey.alg == alg,
            col(SigningKey.signs_from) <= now,
            or_(col(SigningKey.retires_at).is_(None), col(SigningKey.retires_at) > now),
        )
        .order_by(col(SigningKey.signs_from).desc(), col(SigningKey.id).desc())
    )
    found = (await db.exec(query.limit(1))).first()
    return found or await _newest(db, alg, signs_from=now, settings=settings)


async def _newest(
    db: AsyncSession, alg: str, *, signs_from: datetime, settings: Settings
) -> SigningKey:
    """The newest key for `alg` (the one not yet given a retirement), made if there is none. Two
    processes making one at once: the partial unique index keeps one, and both use it."""
    kid = secrets.token_urlsafe(12)
    key = await asyncio.to_thread(_generate, alg, kid)  # RSA key generation takes a while
    sealed = _sealer(settings).encrypt(json.dumps(key.as_dict(private=True)).encode()).decode()
    newest = col(SigningKey.retires_at).is_(None)
    await db.exec(
        insert(SigningKey)
        .values(kid=kid, alg=alg, sealed_jwk=sealed, signs_from=signs_from)
        .on_conflict_do_nothing(index_elements=["alg"], index_where=newest)
    )
    query = select(SigningKey).where(SigningKey.alg == alg, newest)
    created = (await db.exec(query.execution_options(populate_existing=True))).first()
    assert created is not None  # inserted here, or by the process that won the race
    return created


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

"""The portal's signing keys: they sign ID tokens and logout tokens, and their public halves are
published as the JWKS that vendors verify those tokens with.

Kept in Postgres, one set for every process; each process serves from its own copy, dropped
whenever a key changes anywhere (portal/key_cache.py). The key set is built from the public
parts stored beside the sealed private keys, never by opening one; a private key is opened only
to sign, once per process, in a thread. A key the secret keys cannot open is skipped (logged
once): it stays published from its public part, and signing uses another or makes one.

A key is made on first use, one per algorithm. A rotation publishes new keys at once and signs
with them PUBLISHED_BEFORE_SIGNING later, so vendors' cached copies of the keys hold them before
the first token they sign; the keys they replace keep signing until then and stay published
until every token they signed has expired. What operators do (`portal keys …`: rotate at once,
revoke, reseal, list) is portal/key_management.py."""

import asyncio
import json
import logging
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeyParameters, KeySet, RSAKey
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, key_cache, sealing
from portal.errors import PortalError
from portal.key_cache import Cache
from portal.models import SIGNING_ALGORITHMS, SigningKey
from portal.settings import Settings

log = logging.getLogger(__name__)
DEFAULT_ALGORITHM = "RS256"
# Longer than anything signed lives (ID tokens, logout tokens), so a vendor that fetched the
# keys before a rotation can still verify what was signed just before it.
PUBLISHED_AFTER_ROTATION = timedelta(days=2)
# Longer than relying parties keep the key set before fetching it again (openid-client refetches
# for an unknown kid only after 60 s; Spring and .NET cache it for 5 minutes).
PUBLISHED_BEFORE_SIGNING = timedelta(minutes=15)
Key = RSAKey | ECKey
_opening = threading.Lock()  # a private key is opened once per process, whichever loop asks


@dataclass(frozen=True)
class Stored:
    """A published key, as a process keeps it."""

    id: int
    kid: str
    alg: str
    sealed: str
    public: dict[str, Any] | None
    signs_from: datetime
    retires_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Published:
    keys: tuple[Stored, ...]  # newest first
    jwks: dict[str, Any]
    jwks_json: bytes  # the key set as served, encoded once per copy
    key_set: KeySet


def published(now: datetime) -> Any:
    """The condition of a key published at `now` (upcoming ones included)."""
    return or_(col(SigningKey.retires_at).is_(None), col(SigningKey.retires_at) > now)


@dataclass(frozen=True)
class Signer:
    """The key that signs for `alg` now, opened (a process opens each key once)."""

    alg: str
    kid: str
    key: Key

    async def sign(self, claims: dict[str, Any], *, typ: str | None = None) -> str:
        """`claims` as a compact JWS, its `kid` in the header (so vendors pick the right
        published key across a rotation)."""
        header = {"alg": self.alg, "kid": self.kid} | ({"typ": typ} if typ else {})
        # RS256 costs 0.85 ms of CPU a signature (2048 bits, measured on a development machine),
        # and the cryptography library lets go of the GIL meanwhile: in a thread the loop stays
        # free.
        return await asyncio.to_thread(jwt.encode, header, claims, self.key)


async def signer(
    db: AsyncSession, *, now: datetime, settings: Settings, alg: str = DEFAULT_ALGORITHM
) -> Signer:
    """The current key for `alg`: from this process's copy (portal/key_cache.py), so no
    database round trip while that holds; `db` is used only when it does not."""
    if alg not in SIGNING_ALGORITHMS:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    stored, key = await _signing_key(db, alg, now=now, settings=settings)
    return Signer(alg, stored.kid, key)


def cached_signer(cache: Cache, *, now: datetime, settings: Settings, alg: str) -> Signer | None:
    """What signer() gives, when this process's copy of the keys holds it with its key opened
    (no round trip, no thread); None when signer() must load or open something."""
    found: Published | None = cache.current(now)
    if found is None:
        return None
    fingerprint = sealing.fingerprint(settings)
    for stored in found.keys:
        if stored.alg == alg and stored.signs_from <= now:
            slot = (fingerprint, stored.sealed)
            if slot not in cache.opened:
                return None
            key = cache.opened[slot]
            if key is not None:
                return Signer(alg, stored.kid, key)
    return None


async def sign(
    db: AsyncSession,
    claims: dict[str, Any],
    *,
    now: datetime,
    settings: Settings,
    typ: str | None = None,
    alg: str = DEFAULT_ALGORITHM,
) -> str:
    """`claims` as a compact JWS, signed with the current key for `alg`."""
    found = await signer(db, now=now, settings=settings, alg=alg)
    return await found.sign(claims, typ=typ)


async def jwks(db: AsyncSession, *, now: datetime, settings: Settings) -> dict[str, Any]:
    """The public JWK Set: the signing key of every algorithm, the keys about to sign, and the
    rotated ones still published. The caller must not change it."""
    return (await _published(db, now=now, settings=settings)).jwks


async def jwks_json(db: AsyncSession, *, now: datetime, settings: Settings) -> bytes:
    """The public JWK Set as JSON, encoded once per copy of the keys."""
    return (await _published(db, now=now, settings=settings)).jwks_json


def cached_jwks_json(engine: AsyncEngine, now: datetime) -> bytes | None:
    """The key set's JSON from this process's copy when it may be trusted at `now` (the same
    copy, dropped as jwks() drops it): no session, no statement. None: ask jwks_json()."""
    found: Published | None = key_cache.for_engine(engine).current(now)
    return found.jwks_json if found is not None else None


async def verification_keys(db: AsyncSession, *, now: datetime, settings: Settings) -> KeySet:
    """The published keys as a joserfc KeySet, to verify what the portal signed (for instance
    an `id_token_hint`): a withdrawn key verifies nothing."""
    return (await _published(db, now=now, settings=settings)).key_set


async def signing_key(
    db: AsyncSession, alg: str, *, now: datetime, settings: Settings
) -> tuple[Stored, Key]:
    """The published key that signs for `alg` at `now`, opened, for a signature made elsewhere
    than `sign` (SAML's XML signatures, portal/saml/)."""
    return await _signing_key(db, alg, now=now, settings=settings)


async def opened_keys(
    db: AsyncSession, alg: str, *, now: datetime, settings: Settings
) -> list[tuple[Stored, Key]]:
    """Every published key for `alg` (upcoming and retiring ones too) that the secret keys
    open, newest first, with its private key: for what only the key itself can make (SAML's
    self-signed certificates, portal/saml/certificates.py). Each is opened once per process."""
    cache = key_cache.for_session(db)
    found = []
    for stored in (await _published(db, now=now, settings=settings)).keys:
        key = await _opened(cache, stored, settings) if stored.alg == alg else None
        if key is not None:
            found.append((stored, key))
    return found


async def _signing_key(
    db: AsyncSession, alg: str, *, now: datetime, settings: Settings
) -> tuple[Stored, Key]:
    """The newest published key for `alg` whose time to sign has come and that the secret keys
    open; when there is none, a new one (audited: a key that cannot be opened was skipped)."""
    cache = key_cache.for_session(db)
    for attempt in range(2):
        for stored in (await _published(db, now=now, settings=settings)).keys:
            if stored.alg == alg and stored.signs_from <= now:
                key = await _opened(cache, stored, settings)
                if key is not None:
                    return stored, key
        if attempt == 0:
            made = await rotate_algorithm(db, alg, signs_from=now, settings=settings)
            await audit.record(db, "keys.made", "failure", kids=[made.kid], reason="unreadable")
    # Only when another process, with other secret keys, made the new key at the same moment.
    raise PortalError("No token-signing key can be opened just now; please try again.", 503)


async def _published(db: AsyncSession, *, now: datetime, settings: Settings) -> Published:
    cache = key_cache.for_session(db)
    found: Published | None = cache.current(now)
    if found is not None:
        return found
    generation = cache.generation  # a key made here (not yet committed) moves it on: not kept
    rows = await _with_public_parts(db, await _load(db, now), cache, settings)
    missing = set(SIGNING_ALGORITHMS) - {stored.alg for stored in rows if stored.signs_from <= now}
    for alg in sorted(missing):
        await _first_signer(db, alg, now=now, settings=settings)
    if missing:
        rows = await _with_public_parts(db, await _load(db, now), cache, settings)
    public = [stored.public for stored in sorted(rows, key=lambda s: s.id) if stored.public]
    key_set = KeySet.import_key_set({"keys": public}) if public else KeySet([])
    served = json.dumps({"keys": public}, separators=(",", ":")).encode()
    found = Published(tuple(rows), {"keys": public}, served, key_set)
    boundaries = [stored.signs_from for stored in rows if stored.signs_from > now]
    boundaries += [stored.retires_at for stored in rows if stored.retires_at]
    cache.keep(generation, found, now=now, until=min(boundaries, default=None))
    cache.forget_opened_except({stored.sealed for stored in rows})
    return found


async def _load(db: AsyncSession, now: datetime) -> list[Stored]:
    query = select(SigningKey).where(published(now))
    order = (col(SigningKey.signs_from).desc(), col(SigningKey.id).desc())
    rows = (await db.exec(query.order_by(*order).execution_options(populate_existing=True))).all()
    return [
        Stored(
            id=row.id or 0,
            kid=row.kid,
            alg=row.alg,
            sealed=row.sealed_jwk,
            public=json.loads(row.public_jwk) if row.public_jwk else None,
            signs_from=row.signs_from or now,
            retires_at=row.retires_at,
            created_at=row.created_at or now,
        )
        for row in rows
    ]


async def _with_public_parts(
    db: AsyncSession, rows: list[Stored], cache: Cache, settings: Settings
) -> list[Stored]:
    """`rows`, each with its public part: a key made before they were stored gets its own the
    first time (its private key opened once, in a thread); one that cannot be opened is left
    out."""
    found = []
    for stored in rows:
        if stored.public is None:
            key = await _opened(cache, stored, settings)
            if key is None:
                continue
            stored = replace(stored, public=dict(key.as_dict(private=False)))
            await db.exec(
                update(SigningKey)
                .where(col(SigningKey.id) == stored.id, col(SigningKey.public_jwk).is_(None))
                .values(public_jwk=json.dumps(stored.public))
            )
        found.append(stored)
    return found


async def _opened(cache: Cache, stored: Stored, settings: Settings) -> Key | None:
    slot = (sealing.fingerprint(settings), stored.sealed)
    if slot in cache.opened:
        return cache.opened[slot]  # type: ignore[no-any-return]
    # Opening costs 40-75 ms of CPU (an RSA key's checks): once per process, off the loop.
    return await asyncio.to_thread(_open_once, cache, slot, stored, settings)


def _open_once(cache: Cache, slot: tuple[str, str], stored: Stored, settings: Settings) -> Any:
    with _opening:
        if slot not in cache.opened:
            cache.opened[slot] = open_key(stored.alg, stored.sealed, settings, kid=stored.kid)
        return cache.opened[slot]


def open_key(alg: str, sealed: str, settings: Settings, *, kid: str) -> Key | None:
    """The private key, or None (logged, never its content) when the secret keys cannot open
    it."""
    try:
        plain = sealing.unseal(sealed, settings)
    except sealing.Unopenable:
        log.warning(
            "the signing key %s cannot be opened with PORTAL_SECRET_KEY or its fallbacks, so it "
            "is skipped: put the secret key it was sealed with back in "
            "PORTAL_SECRET_KEY_FALLBACKS and run `portal keys reseal`, or withdraw it",
            kid,
        )
        return None
    return (RSAKey if alg == "RS256" else ECKey).import_key(json.loads(plain))


async def rotate_algorithm(
    db: AsyncSession, alg: str, *, signs_from: datetime, settings: Settings
) -> SigningKey:
    """A new key for `alg`, published now and signing from `signs_from`; the newest key it
    replaces stays published until PUBLISHED_AFTER_ROTATION after that."""
    await db.exec(
        update(SigningKey)
        .where(col(SigningKey.alg) == alg, col(SigningKey.retires_at).is_(None))
        .values(retires_at=signs_from + PUBLISHED_AFTER_ROTATION)
    )
    return await _newest(db, alg, signs_from=signs_from, settings=settings)


async def _first_signer(db: AsyncSession, alg: str, *, now: datetime, settings: Settings) -> None:
    """No key signs for `alg` yet (first use, or a rotation before first use): the newest key,
    brought forward to sign now if it is waiting (nothing was signed that it must wait for), or
    one made now."""
    await db.exec(
        update(SigningKey)
        .where(
            col(SigningKey.alg) == alg,
            col(SigningKey.retires_at).is_(None),
            col(SigningKey.signs_from) > now,
        )
        .values(signs_from=now)
    )
    await _newest(db, alg, signs_from=now, settings=settings)


async def _newest(
    db: AsyncSession, alg: str, *, signs_from: datetime, settings: Settings
) -> SigningKey:
    """The newest key for `alg` (the one not yet given a retirement), made if there is none. Two
    processes making one at once: the partial unique index keeps one, and both use it."""
    kid = secrets.token_urlsafe(12)
    key = await asyncio.to_thread(_generate, alg, kid)  # RSA key generation takes a while
    private = json.dumps(key.as_dict(private=True)).encode()
    newest = col(SigningKey.retires_at).is_(None)
    await db.exec(
        insert(SigningKey)
        .values(
            kid=kid,
            alg=alg,
            sealed_jwk=sealing.seal(private, settings),
            public_jwk=json.dumps(key.as_dict(private=False)),
            signs_from=signs_from,
        )
        .on_conflict_do_nothing(index_elements=["alg"], index_where=newest)
    )
    await key_cache.announce_change(db)
    query = select(SigningKey).where(SigningKey.alg == alg, newest)
    created = (await db.exec(query.execution_options(populate_existing=True))).first()
    assert created is not None  # inserted here, or by the process that won the race
    return created


def _generate(alg: str, kid: str) -> Key:
    parameters: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=parameters)
    return ECKey.generate_key("P-256", parameters=parameters)

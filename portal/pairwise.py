"""The key of pairwise subject identifiers (portal/claims.py, member_subject): stored in Postgres,
sealed like the signing keys (portal/sealing.py), so that it does not depend on
PORTAL_SECRET_KEY — rotating the secret key, with `portal keys reseal`, leaves every pairwise
`sub` as it was.

It is stored once, as the value the portal used before it was stored (PORTAL_PAIRWISE_SECRET
when set, else a key derived from PORTAL_SECRET_KEY), so no `sub` changes on the upgrade:
`portal db upgrade` stores it, or else the first use. From then on the stored key is
the key, and PORTAL_PAIRWISE_SECRET only seeded it (a different value later is ignored, with a
warning in the log). It is never rotated: a new key would make every member a stranger to every
vendor with pairwise subjects (docs/operations.md)."""

import hashlib
import hmac
import logging

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import key_cache, sealing, secret_key
from portal.errors import PortalError
from portal.models import StoredSecret
from portal.settings import Settings

log = logging.getLogger(__name__)
NAME = "pairwise_subjects"
_known: dict[tuple[str, str], bytes] = {}  # (database, secret keys' fingerprint) -> the key
_warned: set[tuple[str, str]] = set()


class PairwiseKeyUnreadable(PortalError):
    status = 503

    def __init__(self) -> None:
        super().__init__(
            "The portal cannot open the key of its members' identifiers for this site just "
            "now. Please try again later; the association has been told."
        )


async def key_for(db: AsyncSession, pairwise_subject: bool, *, settings: Settings) -> bytes:
    """The pairwise key for a vendor with pairwise subjects; b"" for any other (its `sub` is the
    iMIS ID), so that a key that cannot be opened stops only the vendors that need it."""
    return await stored_key(db, settings=settings) if pairwise_subject else b""


def cached_key(database: str, pairwise_subject: bool, *, settings: Settings) -> bytes | None:
    """What key_for() gives, when this process has opened the key of `database`
    (key_cache.database_name); None when key_for() must read it."""
    if not pairwise_subject:
        return b""
    return _known.get((database, sealing.fingerprint(settings)))


async def stored_key(db: AsyncSession, *, settings: Settings) -> bytes:
    """The stored key (stored now if it is not yet), opened once per process."""
    slot = (key_cache.database_name(db), sealing.fingerprint(settings))
    if slot not in _known:
        sealed = await _sealed(db) or await _store(db, settings)
        try:
            _known[slot] = sealing.unseal(sealed, settings)
        except sealing.Unopenable:
            raise PairwiseKeyUnreadable from None
    if settings.pairwise_secret and settings.pairwise_secret.encode() != _known[slot]:
        _warn_once(slot)
    return _known[slot]


async def store(db: AsyncSession, *, settings: Settings) -> None:
    """Store the key unless it is stored: `portal db upgrade` does, with the secret key of the
    release that brings it, before anyone rotates that."""
    if await _sealed(db) is None:
        await _store(db, settings)


async def _store(db: AsyncSession, settings: Settings) -> str:
    sealed = sealing.seal(seed(settings), settings)
    stored = insert(StoredSecret).values(name=NAME, sealed=sealed).on_conflict_do_nothing()
    await db.exec(stored)
    found = await _sealed(db)  # ours, or the one another process stored first
    assert found is not None
    return found


def _warn_once(slot: tuple[str, str]) -> None:
    if slot not in _warned:
        _warned.add(slot)
        log.warning("PORTAL_PAIRWISE_SECRET differs from the stored pairwise key: it is ignored")


def seed(settings: Settings) -> bytes:
    """The key the portal used before it stored one: the one a deployment's subjects were made
    with (a key of its own, so a pairwise `sub` reveals nothing of the cookie key)."""
    if settings.pairwise_secret:
        return settings.pairwise_secret.encode()
    base = secret_key.in_use(settings).encode()
    return hmac.new(base, b"portal-oidc-pairwise-subject", hashlib.sha256).digest()


async def opens(db: AsyncSession, *, settings: Settings) -> bool:
    """Whether the secret keys open the stored key (true while none is stored)."""
    sealed = await _sealed(db)
    return sealed is None or sealing.opens(sealed, settings)


async def reseal(db: AsyncSession, *, settings: Settings) -> bool:
    """Seal the stored key with PORTAL_SECRET_KEY itself (`portal keys reseal`); False when
    none is stored yet."""
    query = select(StoredSecret).where(StoredSecret.name == NAME).with_for_update()
    row = (await db.exec(query)).first()
    if row is None:
        return False
    try:
        row.sealed = sealing.reseal(row.sealed, settings)
    except sealing.Unopenable:
        raise PortalError(
            "the key of pairwise subjects cannot be opened with PORTAL_SECRET_KEY or its "
            "fallbacks, so nothing was resealed: put the secret key it was sealed with back in "
            "PORTAL_SECRET_KEY_FALLBACKS and run this again"
        ) from None
    db.add(row)
    return True


async def _sealed(db: AsyncSession) -> str | None:
    query = select(StoredSecret.sealed).where(StoredSecret.name == NAME)
    return (await db.exec(query)).first()

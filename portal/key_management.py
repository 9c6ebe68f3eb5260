"""What operators do to the signing keys (`portal keys …`, portal/maintenance_cli.py): list them
with their state in plain words, rotate them (at once, for a compromised key: every published key
is withdrawn), withdraw one, and reseal every sealed secret under the current PORTAL_SECRET_KEY.
Each change NOTIFYs, so every serving process drops its copy of the keys as it commits
(portal/key_cache.py)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import key_cache, pairwise, sealing
from portal.errors import NotFound, PortalError
from portal.models import SIGNING_ALGORITHMS, SigningKey
from portal.settings import Settings
from portal.signing_keys import (
    PUBLISHED_BEFORE_SIGNING,
    published,
    rotate_algorithm,
)

STATES = {
    "upcoming": "published, signing soon",
    "signing": "signing",
    "published": "published after rotation",
    "retired": "retired",
    "withdrawn": "withdrawn",
    "unopenable": "cannot be opened",
}


@dataclass(frozen=True)
class Listed:
    kid: str
    alg: str
    signs_from: datetime | None
    retires_at: datetime | None
    state: str  # a key of STATES

    def as_json(self) -> dict[str, Any]:
        def stamp(moment: datetime | None) -> str | None:
            return moment.isoformat(timespec="seconds") if moment else None

        return {
            "kid": self.kid,
            "alg": self.alg,
            "signs_from": stamp(self.signs_from),
            "retires_at": stamp(self.retires_at),
            "state": self.state,
        }


@dataclass(frozen=True)
class Rotated:
    new: list[SigningKey]
    withdrawn: list[str]  # kids


@dataclass(frozen=True)
class Revoked:
    kid: str
    already: str | None  # "withdrawn" or "retired": nothing was done
    replacement: SigningKey | None  # when it was the key that signs, or the next to


@dataclass(frozen=True)
class Problems:
    unopenable: list[str]  # published keys the secret keys cannot open
    pairwise_unopenable: bool


async def listing(db: AsyncSession, *, now: datetime, settings: Settings) -> list[Listed]:
    """Every key, newest first. The one signing for an algorithm is the newest published one
    whose time has come that the secret keys open (portal/signing_keys.py signs with it)."""
    order = (col(SigningKey.signs_from).desc(), col(SigningKey.id).desc())
    rows = (await db.exec(select(SigningKey).order_by(*order))).all()
    found, signing_algorithms = [], set()
    for row in rows:
        if row.withdrawn_at:
            state = "withdrawn"
        elif row.retires_at and row.retires_at <= now:
            state = "retired"
        elif not sealing.opens(row.sealed_jwk, settings):
            state = "unopenable"
        elif row.signs_from and row.signs_from > now:
            state = "upcoming"
        elif row.alg not in signing_algorithms:
            state = "signing"
            signing_algorithms.add(row.alg)
        else:
            state = "published"
        found.append(Listed(row.kid, row.alg, row.signs_from, row.retires_at, state))
    return found


async def rotate(
    db: AsyncSession,
    *,
    now: datetime,
    settings: Settings,
    immediately: bool = False,
    lead: timedelta = PUBLISHED_BEFORE_SIGNING,
) -> Rotated:
    """A new key for every algorithm, published now and signing `lead` later (at least
    PUBLISHED_BEFORE_SIGNING: a longer one for SAML vendors that read the metadata daily, or
    were given it by hand). `immediately` (a compromised key): every published key is
    withdrawn — gone from the key set, refused as a hint, never signing again — and the new keys
    sign at once."""
    signs_from = now if immediately else now + max(lead, PUBLISHED_BEFORE_SIGNING)
    withdrawn = await _withdraw(db, published(now), now=now) if immediately else []
    new = [
        await rotate_algorithm(db, alg, signs_from=signs_from, settings=settings)
        for alg in SIGNING_ALGORITHMS
    ]
    return Rotated(new, withdrawn)


async def revoke(db: AsyncSession, kid: str, *, now: datetime, settings: Settings) -> Revoked:
    """Withdraw one key. If it was signing, a new key made now signs from now; if it was the
    next to sign, a new one takes its place (published now, signing in 15 minutes)."""
    query = select(SigningKey).where(SigningKey.kid == kid).with_for_update()
    row = (await db.exec(query)).first()
    if row is None:
        raise NotFound(f"there is no signing key {kid!r} (`portal keys list` shows them)")
    if row.withdrawn_at or (row.retires_at and row.retires_at <= now):
        return Revoked(kid, "withdrawn" if row.withdrawn_at else "retired", None)
    states = {listed.kid: listed.state for listed in await listing(db, now=now, settings=settings)}
    newest = row.retires_at is None
    await _withdraw(db, col(SigningKey.id) == row.id, now=now)
    replacement = None
    if states[kid] == "signing" or newest:
        signs_from = now if states[kid] == "signing" else now + PUBLISHED_BEFORE_SIGNING
        replacement = await rotate_algorithm(db, row.alg, signs_from=signs_from, settings=settings)
    return Revoked(kid, None, replacement)


async def reseal(db: AsyncSession, *, now: datetime, settings: Settings) -> dict[str, Any]:
    """Seal every signing key and the pairwise key with PORTAL_SECRET_KEY itself, opening them
    with whichever key opens them, so that an old key can leave PORTAL_SECRET_KEY_FALLBACKS.
    All or nothing: a published key or the pairwise key that cannot be opened stops it. Keys no
    longer published that cannot be opened are left as they are (they are never needed again).
    Returns the kids resealed, and whether a pairwise key was."""
    rows = (await db.exec(select(SigningKey).order_by(col(SigningKey.id)).with_for_update())).all()
    lost = [
        row.kid
        for row in rows
        if not sealing.opens(row.sealed_jwk, settings)
        and (row.retires_at is None or row.retires_at > now)
    ]
    if lost:
        raise PortalError(
            f"the signing keys {', '.join(lost)} cannot be opened with PORTAL_SECRET_KEY or its "
            "fallbacks, so nothing was resealed: put the secret key they were sealed with back "
            "in PORTAL_SECRET_KEY_FALLBACKS and run this again, or withdraw them (`portal keys "
            "rotate --now`)"
        )
    pairwise_resealed = await pairwise.reseal(db, settings=settings)
    resealed = []
    for row in rows:
        if sealing.opens(row.sealed_jwk, settings):
            row.sealed_jwk = sealing.reseal(row.sealed_jwk, settings)
            db.add(row)
            resealed.append(row.kid)
    await key_cache.announce_change(db)
    return {"kids": resealed, "pairwise": pairwise_resealed}


async def problems(db: AsyncSession, *, now: datetime, settings: Settings) -> Problems:
    """What the dashboard's overview shows staff when the secret keys cannot open a stored
    secret (PORTAL_SECRET_KEY changed without `portal keys reseal`)."""
    listed = await listing(db, now=now, settings=settings)
    return Problems(
        [key.kid for key in listed if key.state == "unopenable"],
        not await pairwise.opens(db, settings=settings),
    )


async def _withdraw(db: AsyncSession, which: ColumnElement[bool], *, now: datetime) -> list[str]:
    withdrawn = await db.exec(
        update(SigningKey)
        .where(published(now), which)
        .values(retires_at=now, withdrawn_at=now)
        .returning(col(SigningKey.kid))
    )
    await key_cache.announce_change(db)
    return list(withdrawn.scalars().all())

"""The portal's signing keys: one per algorithm, shared by every process, published with the
rotated ones until their tokens expire, and unreadable without the secret key."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError
from joserfc.jwk import KeySet
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import db, signing_keys
from portal.settings import Settings
from tests.conftest import TEST_SECRET_KEY

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CLAIMS = {"iss": "https://sso.example.org", "sub": "M1", "iat": 1}


async def in_unit(database_url: str, work):  # type: ignore[no-untyped-def]
    engine = db.create_engine(database_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


async def published(database_url: str, settings: Settings, now: datetime = NOW) -> KeySet:
    async def work(session: AsyncSession) -> KeySet:
        return await signing_keys.verification_keys(session, now=now, settings=settings)

    return await in_unit(database_url, work)


async def signed(database_url: str, settings: Settings, **options: object) -> str:
    async def work(session: AsyncSession) -> str:
        return await signing_keys.sign(session, CLAIMS, now=NOW, settings=settings, **options)

    return await in_unit(database_url, work)


async def test_a_signed_token_verifies_with_the_published_keys_only(
    database_url: str, settings: Settings
) -> None:
    token = await signed(database_url, settings, typ="logout+jwt")
    keys = await published(database_url, settings)
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    assert decoded.claims == CLAIMS
    assert decoded.header["typ"] == "logout+jwt"
    assert decoded.header["kid"] in {key.kid for key in keys}
    assert {key["alg"] for key in keys.as_dict()["keys"]} == {"RS256", "ES256"}
    assert all("d" not in key for key in keys.as_dict(private=False)["keys"])
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(BadSignatureError):
        jwt.decode(tampered, keys, algorithms=["RS256"])


async def test_es256_signs_too(database_url: str, settings: Settings) -> None:
    token = await signed(database_url, settings, alg="ES256")
    assert jwt.decode(token, await published(database_url, settings), algorithms=["ES256"])


async def test_processes_starting_at_once_share_one_key(
    database_url: str, settings: Settings
) -> None:
    tokens = await asyncio.gather(*(signed(database_url, settings) for _ in range(6)))
    keys = await published(database_url, settings)
    assert len({jwt.decode(token, keys).header["kid"] for token in tokens}) == 1


async def rotate(database_url: str, settings: Settings, **options: object) -> list[str]:
    async def work(session: AsyncSession) -> list[str]:
        keys = await signing_keys.rotate(session, now=NOW, settings=settings, **options)
        return [key.kid for key in keys]

    return await in_unit(database_url, work)


async def signed_at(database_url: str, settings: Settings, now: datetime) -> str:
    async def work(session: AsyncSession) -> str:
        return await signing_keys.sign(session, CLAIMS, now=now, settings=settings)

    return await in_unit(database_url, work)


async def test_a_new_key_is_published_before_it_signs_and_the_old_one_after(
    database_url: str, settings: Settings
) -> None:
    before = await signed(database_url, settings)
    new_kids = await rotate(database_url, settings)
    # Published at once, so a vendor's cached keys hold it before it signs anything...
    assert set(new_kids) <= {key.kid for key in await published(database_url, settings)}
    still_old = await signed(database_url, settings)
    assert jwt.decode(still_old, await published(database_url, settings)).header["kid"] not in (
        new_kids
    )
    # ...and it signs once that time has passed.
    signs_from = NOW + signing_keys.PUBLISHED_BEFORE_SIGNING
    after = await signed_at(database_url, settings, signs_from)
    keys = await published(database_url, settings, now=signs_from)
    assert jwt.decode(after, keys).header["kid"] in new_kids
    assert jwt.decode(before, keys)  # the old key is still published
    retired = signs_from + signing_keys.PUBLISHED_AFTER_ROTATION + timedelta(seconds=1)
    later = await published(database_url, settings, now=retired)
    assert jwt.decode(after, later)
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(before, later)


async def test_a_rotation_at_once_signs_with_the_new_key_now(
    database_url: str, settings: Settings
) -> None:
    await signed(database_url, settings)
    new_kids = await rotate(database_url, settings, immediately=True)
    after = await signed(database_url, settings)
    assert jwt.decode(after, await published(database_url, settings)).header["kid"] in new_kids


async def test_two_rotations_leave_one_newest_key_per_algorithm(
    database_url: str, settings: Settings
) -> None:
    await signed(database_url, settings)
    await rotate(database_url, settings)
    newest = await rotate(database_url, settings)

    async def unretired(session: AsyncSession) -> set[str]:
        rows = await session.exec(text("SELECT kid FROM signing_key WHERE retires_at IS NULL"))  # type: ignore[call-overload]
        return {row[0] for row in rows}

    assert await in_unit(database_url, unretired) == set(newest)


async def test_the_database_alone_cannot_sign(database_url: str, settings: Settings) -> None:
    await signed(database_url, settings)

    async def stored(session: AsyncSession) -> list[str]:
        rows = await session.exec(text("SELECT sealed_jwk FROM signing_key"))  # type: ignore[call-overload]
        return [row[0] for row in rows]

    assert not any('"d"' in sealed for sealed in await in_unit(database_url, stored))
    stranger = settings.model_copy(update={"secret_key": "another-secret-key-" + "x" * 40})
    with pytest.raises(signing_keys.KeyUnreadable):
        await signed(database_url, stranger)
    moved_on = stranger.model_copy(update={"secret_key_fallbacks": TEST_SECRET_KEY})
    assert await signed(database_url, moved_on)

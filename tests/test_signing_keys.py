"""The portal's signing keys: one per algorithm, shared by every process, published with the
rotated ones until their tokens expire, withdrawn at once when compromised, served from their
stored public parts, and unreadable without the secret key."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError
from joserfc.jwk import KeySet
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import db, key_management, sealing, signing_keys
from portal.errors import NotFound
from portal.settings import Settings
from tests.conftest import TEST_SECRET_KEY

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CLAIMS = {"iss": "https://sso.example.org", "sub": "M1", "iat": 1}
STRANGER = "another-secret-key-" + "x" * 40


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


async def signed(
    database_url: str, settings: Settings, now: datetime = NOW, **options: object
) -> str:
    async def work(session: AsyncSession) -> str:
        return await signing_keys.sign(session, CLAIMS, now=now, settings=settings, **options)

    return await in_unit(database_url, work)


def kid_of(token: str) -> str:
    return str(jws.extract_compact(token.encode()).protected["kid"])


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
        rotated = await key_management.rotate(session, now=NOW, settings=settings, **options)
        return [key.kid for key in rotated.new]

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
    after = await signed(database_url, settings, signs_from)
    keys = await published(database_url, settings, now=signs_from)
    assert jwt.decode(after, keys).header["kid"] in new_kids
    assert jwt.decode(before, keys)  # the old key is still published
    retired = signs_from + signing_keys.PUBLISHED_AFTER_ROTATION + timedelta(seconds=1)
    later = await published(database_url, settings, now=retired)
    assert jwt.decode(after, later)
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(before, later)


async def test_a_rotation_at_once_withdraws_the_replaced_keys_and_signs_with_new_ones(
    database_url: str, settings: Settings
) -> None:
    before = await signed(database_url, settings)
    old_kids = {key.kid for key in await published(database_url, settings)}
    new_kids = await rotate(database_url, settings, immediately=True)
    keys = await published(database_url, settings)
    # Gone from the key set at once: whatever the old keys signed (or a forger with a stolen
    # copy signs) no longer verifies, here (a logout hint) or at a vendor that fetches the keys.
    assert {key.kid for key in keys} == set(new_kids)
    assert not old_kids & set(new_kids)
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(before, keys)
    after = await signed(database_url, settings)
    assert jwt.decode(after, keys).header["kid"] in new_kids
    # Never signing again, even where the new keys cannot be opened: a key is made instead.
    stranger = settings.model_copy(update={"secret_key": STRANGER})
    assert kid_of(await signed(database_url, stranger)) not in old_kids


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


async def revoke(database_url: str, settings: Settings, kid: str, now: datetime = NOW):  # type: ignore[no-untyped-def]
    async def work(session: AsyncSession) -> key_management.Revoked:
        return await key_management.revoke(session, kid, now=now, settings=settings)

    return await in_unit(database_url, work)


async def test_revoking_the_key_that_signs_replaces_it_at_once(
    database_url: str, settings: Settings
) -> None:
    before = await signed(database_url, settings)
    kid = kid_of(before)
    revoked = await revoke(database_url, settings, kid)
    assert revoked.already is None and revoked.replacement.signs_from == NOW
    keys = await published(database_url, settings)
    assert kid not in {key.kid for key in keys}
    after = await signed(database_url, settings)
    assert jwt.decode(after, keys).header["kid"] == revoked.replacement.kid
    # The other algorithm's key is untouched.
    assert {key["alg"] for key in keys.as_dict()["keys"]} == {"RS256", "ES256"}
    again = await revoke(database_url, settings, kid)
    assert (again.already, again.replacement) == ("withdrawn", None)


async def test_revoking_the_next_key_puts_a_new_one_in_its_place(
    database_url: str, settings: Settings
) -> None:
    old = kid_of(await signed(database_url, settings))
    upcoming = (await rotate(database_url, settings))[0]
    revoked = await revoke(database_url, settings, upcoming)
    assert revoked.replacement.signs_from == NOW + signing_keys.PUBLISHED_BEFORE_SIGNING
    kids = {key.kid for key in await published(database_url, settings)}
    assert upcoming not in kids and {old, revoked.replacement.kid} <= kids
    assert kid_of(await signed(database_url, settings)) == old  # until the new one's time


async def test_revoking_an_unknown_key_says_so(database_url: str, settings: Settings) -> None:
    with pytest.raises(NotFound, match="no signing key 'nope'"):
        await revoke(database_url, settings, "nope")


async def stored(database_url: str, column: str) -> list[str | None]:
    async def work(session: AsyncSession) -> list[str | None]:
        rows = await session.exec(text(f"SELECT {column} FROM signing_key ORDER BY id"))  # type: ignore[call-overload]
        return [row[0] for row in rows]

    return await in_unit(database_url, work)


async def test_the_key_set_is_served_from_public_parts_without_opening_a_private_key(
    database_url: str, settings: Settings
) -> None:
    expected = (await published(database_url, settings)).as_dict(private=False)
    # Secret keys that open none of the stored private keys: the set is complete all the same.
    stranger = settings.model_copy(update={"secret_key": STRANGER})
    assert (await published(database_url, stranger)).as_dict(private=False) == expected
    assert len(expected["keys"]) == 2


async def test_a_key_stored_before_public_parts_were_gets_its_own_once(
    database_url: str, settings: Settings
) -> None:
    token = await signed(database_url, settings)

    async def forget(session: AsyncSession) -> None:
        await session.exec(text("UPDATE signing_key SET public_jwk = NULL"))  # type: ignore[call-overload]

    await in_unit(database_url, forget)
    assert await stored(database_url, "public_jwk") == [None, None]
    keys = await published(database_url, settings.model_copy(update={"secret_key_fallbacks": ""}))
    assert jwt.decode(token, keys)
    assert None not in await stored(database_url, "public_jwk")


async def test_a_key_without_its_public_part_that_cannot_be_opened_is_left_out(
    database_url: str, settings: Settings
) -> None:
    old = kid_of(await signed(database_url, settings))

    async def forget(session: AsyncSession) -> None:
        await session.exec(text("UPDATE signing_key SET public_jwk = NULL"))  # type: ignore[call-overload]

    await in_unit(database_url, forget)
    stranger = settings.model_copy(update={"secret_key": STRANGER})
    assert old not in {key.kid for key in await published(database_url, stranger)}
    made = await signed(database_url, stranger)  # a key it can open, made and published
    assert jwt.decode(made, await published(database_url, stranger))


async def test_the_database_alone_cannot_sign(database_url: str, settings: Settings) -> None:
    first = await signed(database_url, settings)
    assert not any('"d"' in sealed for sealed in await stored(database_url, "sealed_jwk"))
    stranger = settings.model_copy(update={"secret_key": STRANGER})
    with pytest.raises(sealing.Unopenable):
        sealing.unseal((await stored(database_url, "sealed_jwk"))[0] or "", stranger)
    # Without the secret key the stored key is skipped: a new one is made (and audited), and
    # the old one stays published, so what it signed still verifies.
    made = await signed(database_url, stranger)
    keys = await published(database_url, stranger)
    assert jwt.decode(made, keys).header["kid"] != jwt.decode(first, keys).header["kid"]
    moved_on = stranger.model_copy(update={"secret_key_fallbacks": TEST_SECRET_KEY})
    assert await signed(database_url, moved_on)

    async def made_events(session: AsyncSession) -> list[str]:
        query = text("SELECT details->>'reason' FROM audit_event WHERE event = 'keys.made'")
        return [row[0] for row in await session.exec(query)]  # type: ignore[call-overload]

    assert await in_unit(database_url, made_events) == ["unreadable"]


async def test_new_keys_are_sealed_with_the_secret_key_itself_not_a_fallback(
    database_url: str, settings: Settings
) -> None:
    with_fallback = settings.model_copy(update={"secret_key_fallbacks": STRANGER})
    await signed(database_url, with_fallback)
    alone = settings.model_copy(update={"secret_key_fallbacks": ""})
    assert all(sealing.opens(s or "", alone) for s in await stored(database_url, "sealed_jwk"))


async def test_an_unknown_algorithm_is_refused(database_url: str, settings: Settings) -> None:
    with pytest.raises(ValueError, match="HS256"):
        await signed(database_url, settings, alg="HS256")


async def states(database_url: str, settings: Settings, now: datetime) -> dict[str, str]:
    async def work(session: AsyncSession) -> dict[str, str]:
        listed = await key_management.listing(session, now=now, settings=settings)
        return {key.kid: key.state for key in listed}

    return await in_unit(database_url, work)


async def test_each_key_is_listed_with_its_state(database_url: str, settings: Settings) -> None:
    first = await published(database_url, settings)
    old_rs, old_es = ({k.kid for k in first if k.alg == alg}.pop() for alg in ("RS256", "ES256"))
    new_rs, new_es = await rotate(database_url, settings)
    assert await states(database_url, settings, NOW) == {
        old_rs: "signing",
        old_es: "signing",
        new_rs: "upcoming",
        new_es: "upcoming",
    }
    later = NOW + signing_keys.PUBLISHED_BEFORE_SIGNING
    replaced_by = (await revoke(database_url, settings, new_es, now=later)).replacement.kid
    assert await states(database_url, settings, later) == {
        old_rs: "published", old_es: "published", new_rs: "signing", new_es: "withdrawn",
        replaced_by: "signing",
    }  # fmt: skip
    gone = later + signing_keys.PUBLISHED_AFTER_ROTATION
    assert (await states(database_url, settings, gone))[old_rs] == "retired"
    stranger = settings.model_copy(update={"secret_key": STRANGER})
    assert set((await states(database_url, stranger, gone)).values()) == {
        "retired",
        "withdrawn",
        "unopenable",
    }

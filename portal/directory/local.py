"""The local directory: members in Postgres with argon2id password hashes."""

from sqlmodel.ext.asyncio.session import AsyncSession

from portal.members import select_member_by_login
from portal.models import Member
from portal.passwords import verify_password


class LocalDirectory:
    async def find(self, db: AsyncSession, login: str) -> Member | None:
        return await select_member_by_login(db, login)

    async def authenticate(
        self, db: AsyncSession, login: str, password: str, known: Member | None
    ) -> Member | None:
        # A disabled or unknown member still costs one verification (against a dummy hash).
        usable = known if known is not None and known.enabled else None
        ok = await verify_password(usable.password_hash if usable else None, password)
        return usable if ok else None

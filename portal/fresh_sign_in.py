"""A sign-in asked for afresh — OpenID Connect's prompt=login and max_age, SAML's ForceAuthn:
the member signs in again even with a portal session. The request continues from the sign-in
page with the time it asked, signed by the portal (a mark), and is satisfied by a portal session
that began at or after that time: the continuation cannot loop, nor be satisfied by the old
session. Each front end marks with a salt of its own, so a mark made for one means nothing to
another."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, Signer

from portal.auth.models import AuthSession

# A mark older than this no longer counts: the member is asked again.
WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class Marks:
    secret_key: str | bytes
    salt: str  # the front end's own

    def _signer(self) -> Signer:
        return Signer(self.secret_key, salt=self.salt)

    def mark(self, now: datetime) -> str:
        return self._signer().sign(now.isoformat()).decode()

    def asked_at(self, value: str | None, now: datetime) -> datetime | None:
        """The time a mark asked for a sign-in after; None for no mark, a forged or an old one."""
        if not value:
            return None
        try:
            asked = datetime.fromisoformat(self._signer().unsign(value).decode())
        except (BadSignature, ValueError):
            return None
        return asked if asked.tzinfo is not None and now - asked <= WINDOW else None

    def satisfied(self, value: str | None, session: AuthSession, now: datetime) -> bool:
        """Whether the portal session began after the sign-in the mark asked for."""
        asked = self.asked_at(value, now)
        return asked is not None and session.created_at is not None and session.created_at >= asked

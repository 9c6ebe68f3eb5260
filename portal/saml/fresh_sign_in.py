"""ForceAuthn (SAML Core §3.4.1): the member signs in again even with a portal session, by the
rule of portal/fresh_sign_in.py, with SAML's own salt (continuations.FRESH_SIGN_IN carries the
mark)."""

from datetime import datetime

from quart import current_app

from portal.auth.models import AuthSession
from portal.fresh_sign_in import Marks

SALT = "portal-saml-login-after"


def _marks() -> Marks:
    return Marks(current_app.secret_key or "", SALT)


def mark(now: datetime) -> str:
    return _marks().mark(now)


def satisfied(mark_value: str | None, session: AuthSession, now: datetime) -> bool:
    """Whether the portal session began after the sign-in this request asked for."""
    return _marks().satisfied(mark_value, session, now)

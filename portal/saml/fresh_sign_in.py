"""ForceAuthn (SAML Core §3.4.1): the member signs in again even with a portal session. The
request continues from the sign-in page with the time it asked, signed by the portal
(continuations.FRESH_SIGN_IN), and is satisfied by a portal session that began at or after that
time: the continuation cannot loop, nor be satisfied by the old session. The same rule as
OpenID Connect's prompt=login (portal/oidc/fresh_sign_in.py), with a salt of its own, so a mark
made for one front end means nothing to the other."""

from datetime import datetime, timedelta

from itsdangerous import BadSignature, Signer
from quart import current_app

from portal.auth.models import AuthSession

SALT = "portal-saml-login-after"
# A mark older than this no longer counts: the member is asked again.
WINDOW = timedelta(minutes=30)


def _signer() -> Signer:
    return Signer(current_app.secret_key or "", salt=SALT)


def mark(now: datetime) -> str:
    return _signer().sign(now.isoformat()).decode()


def marked_time(value: str | None, now: datetime) -> datetime | None:
    if not value:
        return None
    try:
        asked = datetime.fromisoformat(_signer().unsign(value).decode())
    except (BadSignature, ValueError):
        return None
    return asked if asked.tzinfo is not None and now - asked <= WINDOW else None


def satisfied(mark_value: str | None, session: AuthSession, now: datetime) -> bool:
    """Whether the portal session began after the sign-in this request asked for."""
    asked = marked_time(mark_value, now)
    return asked is not None and session.created_at is not None and session.created_at >= asked

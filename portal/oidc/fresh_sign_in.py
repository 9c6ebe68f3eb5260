"""prompt=login and max_age (OpenID Connect Core §3.1.2.1): when a request needs a sign-in
newer than the member's, the sign-in page is shown and the request continues with the time it
asked, signed by the portal (`login_after`); it is satisfied by a portal session that began at
or after that time, so the continuation cannot loop, nor be satisfied by the old session."""

from datetime import datetime, timedelta

from itsdangerous import BadSignature, Signer
from quart import current_app

from portal.auth.models import AuthSession
from portal.oidc.authorization import AuthorizationRequest

SALT = "portal-oidc-login-after"
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


def needs_sign_in(
    request: AuthorizationRequest, session: AuthSession, now: datetime, *, other_member: bool
) -> bool:
    """Whether the member must sign in (again) before this request is answered; `other_member`
    when its id_token_hint names someone else (Core §3.1.2.1; the sign-in page then lets the
    right member in, as Keycloak does). A sign-in made for this very request settles it."""
    if session.created_at is None:
        return False
    asked = marked_time(request.login_after, now)
    if asked is not None and session.created_at >= asked:
        return False
    if other_member or "login" in request.prompt:
        return True
    if request.max_age is None:
        return False
    return now - session.created_at > timedelta(seconds=request.max_age)

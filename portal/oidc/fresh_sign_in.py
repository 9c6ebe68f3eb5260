"""prompt=login and max_age (OpenID Connect Core §3.1.2.1): when a request needs a sign-in
newer than the member's, the sign-in page is shown and the request continues with the time it
asked, signed by the portal (`login_after`: portal/fresh_sign_in.py has the rule)."""

from datetime import datetime, timedelta

from quart import current_app

from portal.auth.models import AuthSession
from portal.fresh_sign_in import Marks
from portal.oidc.authorization import AuthorizationRequest

SALT = "portal-oidc-login-after"


def _marks() -> Marks:
    return Marks(current_app.secret_key or "", SALT)


def mark(now: datetime) -> str:
    return _marks().mark(now)


def needs_sign_in(
    request: AuthorizationRequest, session: AuthSession, now: datetime, *, other_member: bool
) -> bool:
    """Whether the member must sign in (again) before this request is answered; `other_member`
    when its id_token_hint names someone else (Core §3.1.2.1; the sign-in page then lets the
    right member in, as Keycloak does). A sign-in made for this very request settles it."""
    if session.created_at is None:
        return False
    if _marks().satisfied(request.login_after, session, now):
        return False
    if other_member or "login" in request.prompt:
        return True
    if request.max_age is None:
        return False
    return now - session.created_at > timedelta(seconds=request.max_age)

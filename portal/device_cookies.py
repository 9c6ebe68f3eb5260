"""The device cookie on the current request and response (portal/auth/devices.py says what it
is), for the member and the staff sign-in pages alike."""

from quart import current_app, request
from werkzeug.wrappers import Response

from portal.auth import devices
from portal.auth.devices import Device


def _production() -> bool:
    return bool(current_app.config["SESSION_COOKIE_SECURE"])


def presented(kind: str) -> Device | None:
    name = devices.cookie_name(kind, production=_production())
    fallbacks = current_app.config.get("SECRET_KEY_FALLBACKS") or ()
    return devices.read(kind, request.cookies.get(name), str(current_app.secret_key), fallbacks)


def remember(response: Response, kind: str, subject_id: int) -> Response:
    """After a good sign-in: this browser is known to this account from now on."""
    response.set_cookie(
        devices.cookie_name(kind, production=_production()),
        devices.issue(kind, subject_id, str(current_app.secret_key)),
        max_age=devices.LIFETIME_SECONDS,
        secure=_production(),
        httponly=True,
        samesite="Lax",
        path="/",
    )
    return response

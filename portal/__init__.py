"""The portal: an Enhanced SSO identity provider for associations on iMIS."""

import logging
from contextlib import nullcontext
from functools import partial

from hypercorn.middleware import ProxyFixMiddleware
from quart import Quart

from portal import (
    admin,
    background,
    clock,
    db,
    directory,
    errors,
    front_ends,
    health,
    ids,
    key_cache,
    logout_notices,
    maintenance,
    observe,
    oidc,
    production_checks,
    saml,
    secret_key,
    security,
    session_cookies,
)
from portal.enhanced import account_views, recovery_views
from portal.enhanced import api as enhanced_api
from portal.enhanced import api_schema as enhanced_api_schema
from portal.enhanced import views as enhanced_views
from portal.enhanced.front_end import FRONT_END as ENHANCED
from portal.mail import sending, smtp
from portal.oidc.front_end import FRONT_END as OIDC
from portal.saml.front_end import FRONT_END as SAML
from portal.settings import Settings, load_settings

# Every protocol front end, in the one list a new protocol joins (docs/layout.md, "Adding a
# protocol"). Registered as the package is imported — before any module of it runs — so every
# process (the app, `portal` commands, the tests) ends sessions with the same front ends.
FRONT_ENDS = front_ends.register(ENHANCED, OIDC, SAML)


def create_app(settings: Settings | None = None) -> Quart:
    settings = settings or load_settings()
    production_checks.check_can_serve(settings)
    app = Quart(__name__, template_folder="../templates", static_folder="../static")
    # query_strings.Request, noting the route it matched for the request's log line and metrics.
    app.request_class = observe.Request
    app.secret_key = secret_key.in_use(settings)
    # Quart's session (CSRF), quart-auth's sessions and the device cookies accept earlier keys.
    app.config["SECRET_KEY_FALLBACKS"] = settings.fallback_keys
    app.config["PORTAL_SETTINGS"] = settings
    app.json.sort_keys = False  # type: ignore[attr-defined]  # the member object keeps the vendor's order
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024  # forms and CSV imports; more is abuse
    # One form field may be as large as the whole body: the CSV import's column step carries the
    # file (base64) in its form. MAX_CONTENT_LENGTH still bounds every request.
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]
    app.jinja_env.globals["association_name"] = settings.association_name
    app.jinja_env.globals["help_url"] = settings.help_url or "/help"
    app.jinja_env.globals["forgot_password_url"] = forgot_password_url(settings)

    app.extensions["directory"] = directory.for_settings(settings)
    clock.init_app(app)
    db.init_app(app, settings)
    maintenance.init_app(app, settings)
    background.deliver_outbox(app, outbox_kinds(settings))
    key_cache.init_app(app)  # each worker's copy of the signing keys, dropped when they change
    security.init_app(app, settings)
    session_cookies.init_app(app, settings)
    errors.init_app(app)
    ids.init_app(app)
    for blueprint in (
        health.blueprint,
        enhanced_views.blueprint,
        recovery_views.blueprint,
        account_views.blueprint,
        enhanced_api.blueprint,
        enhanced_api_schema.blueprint,
        *admin.BLUEPRINTS,
    ):
        app.register_blueprint(blueprint)
    oidc.init_app(app)
    saml.init_app(app)
    # After db (the pool it watches), before ProxyFix; the security headers added as answers start.
    observe.init_app(app, settings, security.answer_headers(app, settings))
    if settings.proxy_hops:
        # Only X-Forwarded-* set by our own proxies is believed: the client address feeds the
        # throttle, so a client must not be able to choose it.
        app.asgi_app = ProxyFixMiddleware(app.asgi_app, trusted_hops=settings.proxy_hops)  # type: ignore[method-assign]
    return app


def forgot_password_url(settings: Settings) -> str | None:
    """Where "Forgot your password?" goes: iMIS's own reset page when iMIS owns the passwords,
    the portal's when it can email a link, else nowhere (the link is not shown)."""
    if settings.directory == "imis":
        return settings.imis_password_reset_url
    return "/password/forgot" if settings.smtp_url else None


def outbox_kinds(settings: Settings) -> list[background.Opener]:
    """What the outbox's worker sends: mail with an SMTP server, logout notices with an issuer;
    the rows of a kind left out wait."""
    openers: list[background.Opener] = []
    if settings.smtp_url:
        server = smtp.Server.from_url(settings.smtp_url)
        mail = sending.kind(server, settings.mail_from or "")
        openers.append(lambda: nullcontext(mail))
    policy = logout_notices.Policy.from_settings(settings)
    if policy is None:
        logging.getLogger(__name__).warning(
            "back-channel logout is off: set PORTAL_ISSUER or PORTAL_PUBLIC_URL"
        )
    else:
        openers.append(lambda: logout_notices.opened(policy))
        # A front end's own kind of sign-out notice (SAML's SOAP LogoutRequests), on the same terms.
        for front_end in FRONT_ENDS:
            if (make := front_end.logout_kind) is not None:
                openers.append(partial(logout_notices.opened, policy, make))
    return openers

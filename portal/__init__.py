"""The portal: an Enhanced SSO identity provider for associations on iMIS."""

from quart import Quart

from portal import clock, db, errors, health, security
from portal.admin import auth as admin_auth
from portal.admin import overview as admin_overview
from portal.admin import pages as admin_pages
from portal.admin import vendor_domains, vendor_fields, vendor_secrets
from portal.admin import vendors as admin_vendors
from portal.settings import Settings, load_settings
from portal.sso import api as sso_api
from portal.sso import sessions
from portal.sso import views as sso_views

ADMIN = (
    admin_pages.filters,
    admin_auth.blueprint,
    admin_overview.blueprint,
    admin_vendors.blueprint,
    vendor_domains.blueprint,
    vendor_fields.blueprint,
    vendor_secrets.blueprint,
)


def create_app(settings: Settings | None = None) -> Quart:
    settings = settings or load_settings()
    settings.check_can_serve()
    app = Quart(__name__, template_folder="../templates", static_folder="../static")
    app.secret_key = settings.signing_key()
    app.config["PORTAL_SETTINGS"] = settings
    app.json.sort_keys = False  # type: ignore[attr-defined]  # §5: the vendor's field order
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024  # forms and CSV imports; more is abuse
    app.jinja_env.globals["association_name"] = settings.association_name

    clock.init_app(app)
    db.init_app(app, settings)
    security.init_app(app, settings)
    sessions.init_app(app, settings)
    errors.init_app(app)
    for blueprint in (health.blueprint, sso_views.blueprint, sso_api.blueprint, *ADMIN):
        app.register_blueprint(blueprint)
    return app

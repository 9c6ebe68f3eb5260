"""The portal: an Enhanced SSO identity provider for associations on iMIS."""

from quart import Quart

from portal import clock, db, errors, health, security
from portal.admin import (
    audit as admin_audit,
)
from portal.admin import (
    auth as admin_auth,
)
from portal.admin import (
    member_import as admin_member_import,
)
from portal.admin import (
    members as admin_members,
)
from portal.admin import (
    overview as admin_overview,
)
from portal.admin import (
    pages as admin_pages,
)
from portal.admin import (
    sessions as admin_sessions,
)
from portal.admin import (
    staff as admin_staff,
)
from portal.admin import (
    vendor_domains as admin_vendor_domains,
)
from portal.admin import (
    vendor_fields as admin_vendor_fields,
)
from portal.admin import (
    vendor_secrets as admin_vendor_secrets,
)
from portal.admin import (
    vendors as admin_vendors,
)
from portal.settings import Settings, load_settings
from portal.sso import api as sso_api
from portal.sso import sessions
from portal.sso import views as sso_views

# Module names shadow portal's own (portal.vendor_secrets...): imported under admin_ names.
ADMIN = (
    admin_pages.filters,
    admin_auth.blueprint,
    admin_overview.blueprint,
    admin_vendors.blueprint,
    admin_vendor_domains.blueprint,
    admin_vendor_fields.blueprint,
    admin_vendor_secrets.blueprint,
    admin_members.blueprint,
    admin_member_import.blueprint,
    admin_sessions.blueprint,
    admin_audit.blueprint,
    admin_staff.blueprint,
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

"""The SAML 2.0 front end's registration (portal/front_ends.py): what the core, the domain and
the dashboard reach of it without importing it. A sign-in on the portal's own pages continues
at /saml/sso (sso_views.py), where the request is checked again."""

from portal.front_ends import FrontEnd
from portal.saml import models  # noqa: F401 - its table, for Alembic and the drift test
from portal.saml.metadata import SSO_PATH

FRONT_END = FrontEnd(
    name="saml",
    label="SAML 2.0",
    entry_paths=frozenset({SSO_PATH}),
    issued_event="saml.signed_in",
)

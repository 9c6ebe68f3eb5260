"""The SAML 2.0 front end (issue 24, docs/saml.md): the portal as a SAML identity provider over the
same members and sessions as the Enhanced and OpenID Connect front ends.

Served: the IdP metadata (metadata_views.py), SP-initiated single sign-on (sso_views.py),
sign-in from "My sites" (start_views.py, IdP-initiated; both answered by sign_ins.py) and
SP-initiated single logout (slo_views.py), by HTTP-Redirect and HTTP-POST (incoming.py), their
answers posted by pages.py; a vendor's SP is stored in its own table (models.py,
service_providers.py), registered through the front end's settings (front_end.py:
registration.py, settings_forms.py, integration.py). The protocol core below them: the hardened
XML parser (xml_parser.py), the two bindings' encodings (bindings.py), signatures
(signatures.py) and encryption (encryption.py), the IdP's certificates (certificates.py),
metadata (metadata.py for the portal's, sp_metadata.py for a vendor's), the requests a vendor
sends (requests.py) and the messages the portal sends (responses.py, logout.py), the attributes
(attributes.py)."""

from quart import Quart

from portal.saml import metadata_views, slo_views, sso_views, start_views

BLUEPRINTS = (
    metadata_views.blueprint,
    sso_views.blueprint,
    slo_views.blueprint,
    start_views.blueprint,
)


def init_app(app: Quart) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)

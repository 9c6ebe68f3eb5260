"""The staff dashboard front end: one blueprint per resource, all under /admin. A module that
ends in `_views` holds a resource's routes; access.py (who may), pages.py (rendering),
vendor_page.py and integration.py serve them. Views parse and render; the domain modules
(portal/*.py) and the core (portal/auth) run the queries."""

from portal.admin import (
    account_views,
    audit_views,
    error_pages,
    member_import_views,
    member_invitation_views,
    member_reset_link_views,
    member_views,
    overview_views,
    pages,
    session_views,
    sign_in_views,
    staff_password_views,
    staff_views,
    vendor_access_views,
    vendor_domain_views,
    vendor_field_views,
    vendor_protocol_views,
    vendor_secret_views,
    vendor_views,
)

BLUEPRINTS = (
    pages.filters,
    error_pages.blueprint,
    sign_in_views.blueprint,
    overview_views.blueprint,
    vendor_views.blueprint,
    vendor_domain_views.blueprint,
    vendor_field_views.blueprint,
    vendor_protocol_views.blueprint,
    vendor_secret_views.blueprint,
    vendor_access_views.blueprint,
    member_views.blueprint,
    member_import_views.blueprint,
    member_invitation_views.blueprint,
    member_reset_link_views.blueprint,
    session_views.blueprint,
    audit_views.blueprint,
    staff_views.blueprint,
    account_views.blueprint,
    staff_password_views.blueprint,
)

"""The staff dashboard: one blueprint per resource, all under /admin."""

from portal.admin import (
    audit,
    auth,
    member_import,
    members,
    overview,
    pages,
    sessions,
    staff,
    vendor_domains,
    vendor_fields,
    vendor_secrets,
    vendors,
)

BLUEPRINTS = (
    pages.filters,
    auth.blueprint,
    overview.blueprint,
    vendors.blueprint,
    vendor_domains.blueprint,
    vendor_fields.blueprint,
    vendor_secrets.blueprint,
    members.blueprint,
    member_import.blueprint,
    sessions.blueprint,
    audit.blueprint,
    staff.blueprint,
)

"""The OpenID Connect front end's registration (portal/front_ends.py): what the core, the domain
and the dashboard reach of it without importing it."""

from portal.front_ends import FrontEnd
from portal.oidc import grant_revocation

FRONT_END = FrontEnd(
    name="oidc",
    label="OpenID Connect",
    entry_paths=frozenset({"/oidc/authorize"}),
    issued_event="oidc.authorized",
    session_ended=grant_revocation.session_ended,
    member_signed_out=grant_revocation.member_signed_out,
    vendor_changed=grant_revocation.vendor_changed,
    lasting_access=grant_revocation.offline_sites,
    purge_rules=grant_revocation.purge_rules,
    kept_sessions=grant_revocation.offline_sessions,
)

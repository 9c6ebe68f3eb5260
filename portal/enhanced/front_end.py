"""The Enhanced SSO front end's registration (portal/front_ends.py): what the core and the
domain reach of it without importing it."""

from portal.enhanced import tokens
from portal.front_ends import FrontEnd

FRONT_END = FrontEnd(
    name="enhanced",
    label="Enhanced SSO",
    entry_paths=frozenset({"/sso/signin"}),
    issued_event="token.issued",
    session_ended=tokens.session_ended,
    purge_rules=tokens.purge_rules,
)

"""Why the portal refused something, as the audit log keeps it (an event's `reason`): one name
for each, used where the refusal is decided and where audit_events.py puts it in words for
staff. The values are the audit log's vocabulary: changing one changes what staff search for."""

# Who called: a vendor's credentials (the Enhanced API, the OpenID Connect token endpoint).
NO_CREDENTIALS = "no_credentials"
UNKNOWN_VENDOR = "unknown_vendor"
WRONG_SECRET = "wrong_secret"  # noqa: S105 (a reason's name, not a secret)
DISABLED = "disabled"  # the vendor, or at a sign-in the account
INVALID_REQUEST = "invalid_request"

# What was presented: a one-time token, a code, an access or refresh token.
UNKNOWN = "unknown"  # not one the portal issued
OTHER_VENDOR = "other_vendor"
EXPIRED = "expired"
VOIDED = "voided"
REPLAY = "replay"
REUSE = "reuse"
REVOKED = "revoked"
REDIRECT_URI = "redirect_uri"
PKCE = "pkce"
INVALID_SCOPE = "invalid_scope"
REFRESH_OFF = "refresh_off"
SESSION_ENDED = "session_ended"
MEMBER_DISABLED = "member_disabled"

# A sign-in.
WRONG_PASSWORD = "wrong_password"  # noqa: S105 (a reason's name, not a password)
UNKNOWN_USER = "unknown_user"
THROTTLED = "throttled"
DIRECTORY_UNAVAILABLE = "directory_unavailable"

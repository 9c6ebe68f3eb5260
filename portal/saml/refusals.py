"""Why a SAML message or a vendor's metadata was refused: one exception type, a 400 with a
sentence a vendor's developer or the association's staff can act on, and a short reason name
for the audit log and the tests. A view turns it into its 400 page; it never becomes a 500."""

from portal.errors import PortalError


class Refused(PortalError):
    """A SAML message or metadata the portal will not use; str() says why, in plain words."""

    status = 400

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

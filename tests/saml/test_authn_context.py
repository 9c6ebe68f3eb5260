"""RequestedAuthnContext (SAML Core §3.3.2.2.1): the portal's sign-in, a password over TLS
(PasswordProtectedTransport), meets a request only where SAML's comparison says it does; the
portal never claims a stronger kind of sign-in than it gave."""

import pytest

from portal.saml import authn_context, names, requests
from portal.saml.refusals import Refused
from portal.saml.requests import Received
from tests.saml import sp

CLASSES = "urn:oasis:names:tc:SAML:2.0:ac:classes:"
PPT = names.PASSWORD_PROTECTED
PASSWORD = CLASSES + "Password"
SMARTCARD = CLASSES + "SmartcardPKI"
TLS_CLIENT = CLASSES + "TLSClient"


def requested_xml(comparison: str | None, *classes: str) -> str:
    refs = "".join(f"<saml:AuthnContextClassRef>{c}</saml:AuthnContextClassRef>" for c in classes)
    compared = f' Comparison="{comparison}"' if comparison else ""
    return f"<samlp:RequestedAuthnContext{compared}>{refs}</samlp:RequestedAuthnContext>"


def read(body: str) -> authn_context.Requested | None:
    xml = sp.authn_request(sp.MADE_AT, body=body)
    received = Received(names.POST, sp.posted(xml))
    authn = requests.authn_request(
        requests.read(received),
        received,
        sp.registered(requests_signed=False),
        destination=sp.SSO_URL,
        now=sp.MADE_AT,
        signature_required=False,
    )
    return authn.requested_context


@pytest.mark.parametrize(
    ("comparison", "classes", "met"),
    [
        (None, (PPT,), True),  # exact, the default
        ("exact", (PASSWORD, PPT), True),
        ("exact", (PASSWORD,), False),  # a weaker kind is not what was given
        ("exact", (SMARTCARD,), False),
        ("minimum", (PASSWORD,), True),
        ("minimum", (PPT,), True),
        ("minimum", (SMARTCARD, TLS_CLIENT), False),  # nothing stronger can be claimed
        ("better", (PASSWORD,), True),
        ("better", (PPT,), False),
        ("maximum", (SMARTCARD,), True),
        ("maximum", (PASSWORD,), False),
        ("exact", (), False),  # only declarations (AuthnContextDeclRef): the portal has none
    ],
)
def test_the_portals_sign_in_meets_a_request_only_as_its_comparison_says(
    comparison: str | None, classes: tuple[str, ...], met: bool
) -> None:
    requested = read(requested_xml(comparison, *classes))
    assert requested is not None
    assert authn_context.satisfied(requested) is met


def test_a_request_without_one_asks_for_nothing() -> None:
    assert read("") is None
    assert authn_context.satisfied(None)


def test_a_comparison_saml_does_not_define_is_refused() -> None:
    with pytest.raises(Refused) as refused:
        read(requested_xml("stronger", PPT))
    assert refused.value.reason == "bad_comparison"

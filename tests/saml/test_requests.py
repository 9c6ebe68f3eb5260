"""An AuthnRequest or LogoutRequest is read only once it passes every check: a table of the
ways one can be wrong, each refused for its own reason, and the signature checks of both
bindings."""

from datetime import timedelta
from urllib.parse import parse_qs, quote

import pytest

from portal.saml import names, requests
from portal.saml.refusals import Refused
from portal.saml.requests import Received
from portal.saml.times import format_instant
from tests.saml import sp

NOW = sp.MADE_AT + timedelta(days=30)
REGISTERED = sp.registered()
UNSIGNED_OK = sp.registered(requests_signed=False)


def received_by_post(xml: bytes) -> Received:
    return Received(names.POST, sp.posted(xml))


def received_by_redirect(query: str) -> Received:
    return Received(names.REDIRECT, parse_qs(query)["SAMLRequest"][0], query)


def check(received: Received, provider: sp.ServiceProvider = REGISTERED, required: bool = False):  # type: ignore[no-untyped-def]
    root = requests.read(received)
    return requests.authn_request(
        root, received, provider, destination=sp.SSO_URL, now=NOW, signature_required=required
    )


def test_a_signed_post_request_is_read() -> None:
    xml = sp.authn_request(
        NOW,
        extra=f' ForceAuthn="true" AssertionConsumerServiceURL="{sp.ACS}"'
        f' ProtocolBinding="{names.POST}"',
        body=f'<samlp:NameIDPolicy Format="{names.EMAIL}" AllowCreate="true"/>',
    )
    found = check(received_by_post(sp.signed_xml(xml)))
    assert (found.id, found.issuer, found.signed) == ("_request1", sp.ENTITY_ID, True)
    assert found.consumer.location == sp.ACS
    assert found.force_authn and not found.is_passive
    assert (found.nameid_format, found.allow_create) == (names.EMAIL, True)


def test_a_signed_redirect_request_is_read() -> None:
    query = sp.redirect_query(
        sp.authn_request(NOW, extra=' IsPassive="1" AssertionConsumerServiceIndex="1"')
    )
    found = check(received_by_redirect(query))
    assert found.signed and found.is_passive
    assert found.consumer.location == sp.ACS


def test_the_default_consumer_is_the_one_marked_default() -> None:
    found = check(received_by_post(sp.authn_request(NOW)), UNSIGNED_OK)
    assert found.consumer.location == sp.ACS_2
    assert not found.signed


def later(minutes: int) -> str:
    return format_instant(NOW + timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        (sp.authn_request(NOW, instant=later(-30)), "too_old"),
        (sp.authn_request(NOW, instant=later(10)), "future"),
        (sp.authn_request(NOW, instant="yesterday"), "bad_time"),
        (sp.authn_request(NOW, instant="2026-13-45T99:00:00Z"), "bad_time"),
        (
            sp.authn_request(NOW, extra=' AssertionConsumerServiceURL="https://evil.example/acs"'),
            "unregistered_acs",
        ),
        (sp.authn_request(NOW, extra=' AssertionConsumerServiceIndex="7"'), "unregistered_acs"),
        (
            sp.authn_request(
                NOW,
                extra=f' AssertionConsumerServiceURL="{sp.ACS}" AssertionConsumerServiceIndex="1"',
            ),
            "acs",
        ),
        (sp.authn_request(NOW, extra=f' ProtocolBinding="{names.REDIRECT}"'), "acs"),
        (sp.authn_request(NOW, destination="https://other.example/sso"), "destination"),
        (sp.authn_request(NOW, issuer="https://someone-else.example"), "issuer"),
        (
            sp.authn_request(NOW, issuer="https://sp.example.com/saml/metadata<!---->"),
            "mixed_content",
        ),
        (sp.authn_request(NOW, request_id="1-starts-with-a-digit"), "bad_id"),
        (sp.authn_request(NOW, request_id="_" + "x" * 300), "bad_id"),
        (sp.authn_request(NOW, extra=' ForceAuthn="maybe"'), "bad_boolean"),
        (sp.authn_request(NOW).replace(b'Version="2.0"', b'Version="1.1"'), "version"),
        (sp.authn_request(NOW).replace(b"AuthnRequest", b"LogoutRequest"), "wrong_message"),
        (
            sp.authn_request(NOW, body="<saml:Subject><saml:NameID>x</saml:NameID></saml:Subject>"),
            "subject",
        ),
        (b'<!DOCTYPE x [<!ENTITY e "e">]>' + sp.authn_request(NOW), "dtd"),
        (b"<samlp:AuthnRequest", "malformed"),
    ],
)
def test_a_bad_request_is_refused(xml: bytes, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        check(received_by_post(xml), UNSIGNED_OK)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        # required by the SP's metadata (AuthnRequestsSigned) but absent, in either binding
        (lambda: received_by_post(sp.authn_request(NOW)), "unsigned"),
        (
            lambda: received_by_redirect(sp.redirect_query(sp.authn_request(NOW), who=None)),
            "unsigned",
        ),
        # signed by someone other than the SP
        (
            lambda: received_by_post(sp.signed_xml(sp.authn_request(NOW), "stranger")),
            "bad_signature",
        ),
        (
            lambda: received_by_redirect(sp.redirect_query(sp.authn_request(NOW), who="stranger")),
            "bad_signature",
        ),
        # signed, then changed
        (
            lambda: received_by_post(
                sp.signed_xml(sp.authn_request(NOW)).replace(b"_request1", b"_request2")
            ),
            "bad_signature",
        ),
        (
            lambda: received_by_post(
                sp.signed_xml(sp.authn_request(NOW, extra=' ForceAuthn="true"')).replace(
                    b'ForceAuthn="true"', b'ForceAuthn="false"'
                )
            ),
            "bad_signature",
        ),
        (
            lambda: received_by_redirect(
                sp.redirect_query(sp.authn_request(NOW)).replace(
                    "RelayState=back-to", "RelayState=elsewhere"
                )
            ),
            "bad_signature",
        ),
        # a signed request must name its Destination (Bindings §3.5.5.2)
        (
            lambda: received_by_post(sp.signed_xml(sp.authn_request(NOW, destination=None))),
            "destination",
        ),
        # an XML signature inside a redirect, which the binding forbids
        (
            lambda: received_by_redirect(sp.redirect_query(sp.signed_xml(sp.authn_request(NOW)))),
            "signature_wrapping",
        ),
    ],
)
def test_a_bad_or_absent_signature_is_refused(make, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused) as refused:
        check(make())
    assert refused.value.reason == reason


def test_sha1_is_refused_in_the_redirect_binding() -> None:
    query = sp.redirect_query(sp.authn_request(NOW))
    sha1 = quote("http://www.w3.org/2000/09/xmldsig#rsa-sha1", safe="")
    query = query.replace(quote(names.RSA_SHA256, safe=""), sha1)
    with pytest.raises(Refused) as refused:
        check(received_by_redirect(query))
    assert refused.value.reason == "signature_algorithm"


def test_an_encoding_other_than_deflate_is_refused() -> None:
    query = sp.redirect_query(sp.authn_request(NOW)) + "&SAMLEncoding=urn%3Aother"
    with pytest.raises(Refused) as refused:
        check(received_by_redirect(query))
    assert refused.value.reason == "binding"


def test_the_portal_may_require_a_signature_the_sp_does_not_promise() -> None:
    with pytest.raises(Refused) as refused:
        check(received_by_post(sp.authn_request(NOW)), UNSIGNED_OK, required=True)
    assert refused.value.reason == "unsigned"


def logout_xml(session_index: str = "sid-1", name_id: str = "member-7", extra: str = "") -> bytes:
    return (
        f'<samlp:LogoutRequest xmlns:samlp="{names.SAMLP}" xmlns:saml="{names.SAML}" '
        f'ID="_logout1" Version="2.0" IssueInstant="{format_instant(NOW)}" '
        f'Destination="{sp.SLO_URL}"{extra}><saml:Issuer>{sp.ENTITY_ID}</saml:Issuer>'
        f'<saml:NameID Format="{names.PERSISTENT}">{name_id}</saml:NameID>'
        f"<samlp:SessionIndex>{session_index}</samlp:SessionIndex></samlp:LogoutRequest>"
    ).encode()


def check_logout(received: Received):  # type: ignore[no-untyped-def]
    root = requests.read(received)
    return requests.logout_request(root, received, UNSIGNED_OK, destination=sp.SLO_URL, now=NOW)


def test_a_signed_logout_request_is_read_in_both_bindings() -> None:
    for received in (
        received_by_post(sp.signed_xml(logout_xml())),
        received_by_redirect(sp.redirect_query(logout_xml())),
    ):
        found = check_logout(received)
        assert (found.id, found.name_id, found.session_indexes) == (
            "_logout1",
            "member-7",
            ("sid-1",),
        )
        assert found.nameid_format == names.PERSISTENT


@pytest.mark.parametrize(
    ("received", "reason"),
    [
        # always required, whatever the SP's metadata says
        (received_by_post(logout_xml()), "unsigned"),
        (received_by_redirect(sp.redirect_query(logout_xml(), who=None)), "unsigned"),
        (received_by_post(sp.signed_xml(logout_xml(), "stranger")), "bad_signature"),
        (received_by_post(sp.signed_xml(logout_xml(name_id="member-7<!---->8"))), "mixed_content"),
        (
            received_by_post(
                sp.signed_xml(logout_xml(extra=f' NotOnOrAfter="{format_instant(NOW)}"'))
            ),
            "too_old",
        ),
    ],
)
def test_a_bad_logout_request_is_refused(received: Received, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        check_logout(received)
    assert refused.value.reason == reason


def test_a_signature_sent_when_none_is_required_must_still_be_valid() -> None:
    for received in (
        received_by_post(sp.signed_xml(sp.authn_request(NOW), "stranger")),
        received_by_redirect(sp.redirect_query(sp.authn_request(NOW), who="stranger")),
    ):
        with pytest.raises(Refused) as refused:
            check(received, UNSIGNED_OK)
        assert refused.value.reason == "bad_signature"

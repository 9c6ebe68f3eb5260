"""Signature wrapping (XSW, Somorovsky et al. 2012): an attacker keeps a validly signed request
and wraps it in one of their own, hoping the portal verifies the signature on one element and
reads another. Each attack below is refused; the first two, with the defence taken out
(signatures.verify_enveloped reading the document's root whatever the signature references),
would have let the attacker's ACS through."""

import copy
from datetime import timedelta

import pytest
from lxml import etree

from portal.saml import names, requests
from portal.saml.refusals import Refused
from portal.saml.requests import Received
from tests.saml import sp

NOW = sp.MADE_AT + timedelta(days=30)
SIGNED = sp.signed_xml(
    sp.authn_request(NOW, request_id="_good", extra=f' AssertionConsumerServiceURL="{sp.ACS}"')
)
EVIL = sp.authn_request(
    NOW, request_id="_evil", extra=f' AssertionConsumerServiceURL="{sp.ACS_2}" ForceAuthn="true"'
)
DS = f"{{{names.DS}}}"


def parts() -> tuple[etree._Element, etree._Element, etree._Element]:
    good = etree.fromstring(SIGNED)
    evil = etree.fromstring(EVIL)
    signature = good.find(DS + "Signature")
    assert signature is not None
    return good, evil, signature


def extensions(evil: etree._Element) -> etree._Element:
    return etree.SubElement(evil, f"{{{names.SAMLP}}}Extensions")


def signature_moved_up() -> bytes:
    """XSW1-like: the signature moved to the attacker's root, the signed original (its
    signature gone, which the enveloped transform leaves out anyway) hidden inside."""
    good, evil, signature = parts()
    evil.insert(1, signature)
    extensions(evil).append(good)
    return etree.tostring(evil)


def original_hidden_inside() -> bytes:
    """XSW2-like: the signed original whole, signature and all, inside the attacker's request."""
    good, evil, _ = parts()
    extensions(evil).append(good)
    return etree.tostring(evil)


def same_id_twice() -> bytes:
    """The attacker's root takes the original's ID, the original hidden inside."""
    good, evil, signature = parts()
    evil.set("ID", "_good")
    evil.insert(1, signature)
    extensions(evil).append(good)
    return etree.tostring(evil)


def original_in_the_signature() -> bytes:
    """XSW3-like: the original inside the signature's own ds:Object."""
    good, evil, signature = parts()
    evil.insert(1, signature)
    holder = etree.SubElement(signature, DS + "Object")
    holder.append(copy.deepcopy(good))
    return etree.tostring(evil)


def second_signature() -> bytes:
    good, evil, signature = parts()
    evil.insert(1, signature)
    evil.insert(2, copy.deepcopy(signature))
    extensions(evil).append(good)
    return etree.tostring(evil)


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        (signature_moved_up, "signature_wrapping"),
        (original_hidden_inside, "unsigned"),
        (same_id_twice, "signature_wrapping"),
        (original_in_the_signature, "signature_wrapping"),
        (second_signature, "signature_wrapping"),
    ],
)
def test_a_wrapped_request_is_refused(attack, reason: str) -> None:  # type: ignore[no-untyped-def]
    received = Received(names.POST, sp.posted(attack()))
    with pytest.raises(Refused) as refused:
        requests.authn_request(
            requests.read(received),
            received,
            sp.registered(),
            destination=sp.SSO_URL,
            now=NOW,
            signature_required=True,
        )
    assert refused.value.reason == reason


def test_the_original_itself_is_accepted() -> None:
    received = Received(names.POST, sp.posted(SIGNED))
    found = requests.authn_request(
        requests.read(received),
        received,
        sp.registered(),
        destination=sp.SSO_URL,
        now=NOW,
        signature_required=True,
    )
    assert (found.id, found.consumer.location, found.force_authn) == ("_good", sp.ACS, False)

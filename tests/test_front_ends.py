"""The registry of protocol front ends (portal/front_ends.py): one list, at the app's top, that
the core and the domain ask — so a new protocol is its package plus one line."""

from collections.abc import Iterator
from dataclasses import replace

import pytest

import portal
from portal import continuations, front_ends, models

# A front end the portal does not have, to register beside the real ones.
WSFED = front_ends.FrontEnd(
    name="wsfed",
    label="WS-Federation",
    entry_paths=frozenset({"/wsfed/signin"}),
    issued_event="wsfed.issued",
)


@pytest.fixture
def with_wsfed() -> Iterator[None]:
    front_ends.register(*portal.FRONT_ENDS, WSFED)
    try:
        yield
    finally:
        front_ends.register(*portal.FRONT_ENDS)


def test_every_process_has_the_one_list() -> None:
    """Registered as `portal` is imported: the app, the command line and the tests alike."""
    assert front_ends.registered() == portal.FRONT_ENDS
    assert front_ends.names() == ("enhanced", "oidc", "saml")


def test_the_databases_constraints_name_the_same_front_ends() -> None:
    """vendor.protocol and session_vendor.front_end are checked by the database: a new front end
    comes with the migration that adds its name."""
    assert front_ends.names() == models.PROTOCOLS


def test_a_sign_in_continues_only_to_a_registered_entry_path(with_wsfed: None) -> None:
    assert continuations.checked("/wsfed/signin?wa=x") == "/wsfed/signin?wa=x"
    front_ends.register(*portal.FRONT_ENDS)
    assert continuations.checked("/wsfed/signin?wa=x") is None
    assert continuations.checked("/oidc/authorize?client_id=x") == "/oidc/authorize?client_id=x"


def test_a_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        front_ends.register(*portal.FRONT_ENDS, replace(WSFED, name="oidc"))
    assert front_ends.registered() == portal.FRONT_ENDS


def test_a_process_without_front_ends_refuses_to_end_sessions() -> None:
    """Ending a session without them would leave what they issued standing."""
    front_ends.register()
    try:
        with pytest.raises(RuntimeError, match="no front end registered"):
            front_ends.entry_paths()
    finally:
        front_ends.register(*portal.FRONT_ENDS)

"""The registry of protocol front ends (portal/front_ends.py): one list, at the app's top, that
the core and the domain ask — so a new protocol is its package plus one line."""

import argparse
import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

import pytest
from werkzeug.datastructures import MultiDict

import portal
from portal import continuations, front_ends, models, sign_in_methods, vendor_cli, vendor_settings
from portal.admin import vendor_protocol_views
from portal.errors import PortalError
from tests.test_layout import ROOT, names_in, sources, within

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


# Where a vendor's settings are offered — the dashboard, the command line and the domain modules
# that read, check and audit them for both — a front end's own settings are reached through its
# registration only (portal/front_ends.py), so that the next protocol adds its own without
# editing them. So is what the vendor page shows of a front end's vendors (its Integration tab,
# its preview): `VendorPage`.
OFFERING = ("portal.admin", "portal.vendor_settings", "portal.sign_in_methods")


def offering(module: str) -> bool:
    cli = module.startswith("portal.") and module.count(".") == 1 and module.endswith("_cli")
    return cli or any(within(module, package) for package in OFFERING)


def own_words() -> set[str]:
    """The name of each front end with settings of its own, and the names of those settings."""
    return {
        word
        for front_end in front_ends.registered()
        if front_end.vendor_settings.names
        for word in (front_end.name, *front_end.vendor_settings.names)
    }


def test_the_dashboard_and_the_cli_name_no_front_ends_settings() -> None:
    words = own_words()
    assert {"oidc", "redirect_uris", "scopes", "omit_iss"} <= words  # the rule has teeth
    wrong = {
        module: sorted(named)
        for module, (_, tree) in sources().items()
        if offering(module) and (named := set(names_in(tree, words_of_strings=False)) & words)
    }
    assert not wrong, f"reach a front end's settings through its registration: {wrong}"
    assert offering("portal.vendor_cli") and offering("portal.admin.vendor_protocol_views")


def test_the_settings_check_sees_names_strings_and_imports() -> None:
    snippet = (
        'from portal.oidc import registration\nif v.protocol == "oidc": f(scopes=1)\n'
        "def g(redirect_uris): return x.omit_iss"
    )
    found = set(names_in(ast.parse(snippet), words_of_strings=False))
    assert {"oidc", "registration", "scopes", "redirect_uris", "omit_iss"} <= found


DASHBOARD_TEMPLATES = ROOT.parent / "templates" / "admin"


def protocols_compared(text: str, names: Iterable[str]) -> list[str]:
    """Each `== "name"` (or `!=`, either way round) of a front end's name in a template."""
    quoted = "|".join(re.escape(name) for name in names)
    literal = rf"""["'](?:{quoted})["']"""
    return re.findall(rf"(?:[!=]=\s*{literal}|{literal}\s*[!=]=)", text)


def test_the_dashboards_templates_compare_no_protocol_by_name() -> None:
    """Which integration partial, which label, which words: the vendor's front end says
    (its registration's label, `VendorSettings`, `VendorPage`), never a template's if."""
    names = front_ends.names()
    assert protocols_compared('{% if vendor.protocol == "oidc" %}', names)  # the rule has teeth
    assert protocols_compared("{{ 'x' if 'enhanced' != p }}", names)
    wrong = {
        str(path.relative_to(ROOT.parent)): found
        for path in sorted(DASHBOARD_TEMPLATES.rglob("*.html"))
        if (found := protocols_compared(path.read_text(), names))
    }
    assert not wrong, f"ask the vendor's front end (portal/front_ends.py): {wrong}"


def test_a_front_end_without_settings_of_its_own_declares_none() -> None:
    """WS-Federation's registration above is four fields: its vendor settings default to none,
    and the dashboard and the CLI offer it like any other."""
    assert WSFED.vendor_settings.names == () and WSFED.settings_options is None
    assert WSFED.settings_form.template is None


def add_entity_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entity-id", dest="entity_id")


WSFED_WITH_SETTINGS = replace(
    WSFED,
    hint="For sites that speak WS-Federation.",
    vendor_settings=front_ends.VendorSettings(names=("entity_id",)),
    settings_form=front_ends.SettingsForm(read=lambda form: {"entity_id": form.get("entity_id")}),
    settings_options=front_ends.SettingsOptions(
        add=add_entity_id, options={"entity_id": "--entity-id"}
    ),
)


@pytest.fixture
def with_wsfed_settings() -> Iterator[None]:
    front_ends.register(*portal.FRONT_ENDS, WSFED_WITH_SETTINGS)
    try:
        yield
    finally:
        front_ends.register(*portal.FRONT_ENDS)


def test_a_new_front_ends_settings_reach_the_dashboard_and_the_cli_unedited(
    with_wsfed_settings: None,
) -> None:
    """Its registration alone: its setting is read from the sign-in method form, offered by
    `portal vendor set`, refused for another front end's vendor, and audited."""
    form = MultiDict({"protocol": "wsfed", "entity_id": "https://lms.example.com/wsfed"})
    assert vendor_protocol_views.read(form)["entity_id"] == "https://lms.example.com/wsfed"
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    vendor_cli.add_commands(commands)
    args = parser.parse_args(["vendor", "set", "acme", "--entity-id", "urn:x"])
    assert vendor_cli.given(args) == {"entity_id": "urn:x"}
    with pytest.raises(
        PortalError, match=r"--entity-id: for --protocol wsfed \(WS-Federation\) only"
    ):
        vendor_cli.refuse_others_options({"entity_id": "urn:x"}, "enhanced")
    vendor_cli.refuse_others_options({"entity_id": "urn:x"}, "wsfed")
    assert sign_in_methods.names()[-1] == "entity_id"
    assert "entity_id" in vendor_settings.updated()

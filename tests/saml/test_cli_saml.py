"""`portal vendor add KEY --protocol saml (--metadata-file F | --metadata-url U)` and `portal
vendor set` (protocol.md §11): a SAML vendor registered from its SP's metadata, its choices
changed afterwards; bad input is one line and writes nothing."""

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_runner import Runner
from tests.saml import sp

ADD = ("vendor", "add", "lms", "--name", "Learning Hub", "--protocol", "saml")
DOMAIN = ("--domain", "sp.example.com")


@pytest.fixture
def metadata_file(tmp_path: Path) -> str:
    path = tmp_path / "sp.xml"
    path.write_bytes(sp.metadata())
    return str(path)


def stored(runner: Runner, column: str) -> object:
    return runner.scalar(f"SELECT {column} FROM saml_service_provider")


def test_a_saml_vendor_is_registered_from_its_metadata_file(
    portal: Runner, metadata_file: str
) -> None:
    code, out, err = portal(*ADD, *DOMAIN, "--metadata-file", metadata_file, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {"key": "lms", "protocol": "saml"}
    assert portal.scalar("SELECT protocol FROM vendor") == "saml"
    assert stored(portal, "entity_id") == sp.ENTITY_ID
    assert stored(portal, "nameid_format") == "persistent"
    assert stored(portal, "jsonb_array_length(assertion_consumers)") == 2
    assert stored(portal, "authn_requests_signed") is True

    code, out, err = portal("vendor", "set", "lms", "--nameid", "email", "--encrypt-assertions")
    assert (code, err) == (0, ""), err
    assert stored(portal, "nameid_format || ' ' || encrypt_assertions") == "email true"
    assert stored(portal, "entity_id") == sp.ENTITY_ID  # the metadata kept

    code, out, _ = portal("vendor", "show", "lms", "--json")
    shown = json.loads(out)
    assert json.dumps(shown).count(sp.ENTITY_ID) >= 1
    changed = portal.scalar(
        "SELECT count(*) FROM audit_event WHERE event = 'vendor.updated' AND vendor_key = 'lms'"
    )
    assert changed == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        ((*ADD, *DOMAIN), "--metadata-file"),  # SAML needs its SP's metadata
        ((*ADD, *DOMAIN, "--metadata-file", "/nonexistent.xml"), "cannot read"),
        ((*ADD, *DOMAIN, "--nameid", "opaque"), "invalid choice"),
        ((*ADD, *DOMAIN, "--metadata-url", "http://127.0.0.1:9/sp.xml"), "--metadata-url"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    portal: Runner, argv: tuple[str, ...], words: str
) -> None:
    code, _, err = portal(*argv)
    assert code != 0 and words in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert portal.scalar("SELECT count(*) FROM vendor") == 0


def test_metadata_that_is_not_an_sps_is_refused_in_words(portal: Runner, tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(b'<!DOCTYPE x [<!ENTITY e "e">]>' + sp.metadata())
    code, _, err = portal(*ADD, *DOMAIN, "--metadata-file", str(path))
    assert code != 0 and "--metadata-file" in err and "DTD" in err, err
    assert portal.scalar("SELECT count(*) FROM vendor") == 0


def test_saml_options_are_for_saml_vendors_only(portal: Runner, metadata_file: str) -> None:
    code, _, err = portal(
        *("vendor", "add", "acme", "--name", "Acme", "--domain", "acme.example.com"),
        *("--token-url", "https://acme.example.com/sso/token", "--nameid", "email"),
    )
    assert code != 0 and "--nameid" in err and "saml" in err, err


@pytest.fixture
def served_metadata() -> Iterator[str]:
    """The SP's metadata at a URL, as its software serves it (on loopback: development)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = sp.metadata()
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sp.xml"
    finally:
        server.shutdown()


def test_a_saml_vendor_is_registered_from_its_metadata_url(
    portal: Runner, served_metadata: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PORTAL_ENV", "development")
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path))
    code, _, err = portal(
        *ADD, *DOMAIN, *("--domain", "localhost"), "--metadata-url", served_metadata, "--json"
    )
    assert (code, err) == (0, ""), err
    assert stored(portal, "entity_id") == sp.ENTITY_ID
    assert stored(portal, "metadata_url") == served_metadata


def test_signing_in_from_my_sites_is_set_from_the_command_line(
    portal: Runner, metadata_file: str
) -> None:
    code, _, err = portal(*ADD, *DOMAIN, "--metadata-file", metadata_file)
    assert (code, err) == (0, ""), err
    assert stored(portal, "idp_initiated") is False  # off by default
    landing = "https://sp.example.com/courses/42"
    code, _, err = portal("vendor", "set", "lms", "--idp-initiated", "--relay-state", landing)
    assert (code, err) == (0, ""), err
    assert stored(portal, "idp_initiated") is True
    assert stored(portal, "idp_initiated_relay_state") == landing
    code, out, _ = portal("vendor", "show", "lms", "--json")
    shown = json.loads(out)
    assert (shown["saml_idp_initiated"], shown["saml_relay_state"]) == (True, landing)

    code, _, err = portal("vendor", "set", "lms", "--no-idp-initiated", "--relay-state", "")
    assert (code, err) == (0, ""), err
    assert stored(portal, "idp_initiated") is False
    assert stored(portal, "idp_initiated_relay_state") is None
    changes = json.loads(
        str(
            portal.scalar(
                "SELECT json_agg(details->'changes' ORDER BY id)::text FROM audit_event "
                "WHERE event = 'vendor.updated'"
            )
        )
    )
    assert [c["saml_idp_initiated"] for c in changes] == [
        {"before": False, "after": True},
        {"before": True, "after": False},
    ]
    assert changes[1]["saml_relay_state"] == {"before": landing, "after": None}


def test_a_landing_page_off_the_sites_domains_is_one_line_and_writes_nothing(
    portal: Runner, metadata_file: str
) -> None:
    portal(*ADD, *DOMAIN, "--metadata-file", metadata_file)
    code, _, err = portal(
        "vendor", "set", "lms", "--idp-initiated", "--relay-state", "https://evil.example.net/"
    )
    assert code != 0 and "--relay-state" in err and "domains" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert stored(portal, "idp_initiated") is False


def test_a_saml_vendor_gets_no_api_secret(portal: Runner, metadata_file: str) -> None:
    code, out, err = portal(*ADD, *DOMAIN, "--metadata-file", metadata_file)
    assert (code, err) == (0, ""), err
    assert "secret" not in out.lower()
    assert portal.scalar("SELECT count(*) FROM vendor_secret") == 0
    code, out, _ = portal("vendor", "show", "lms")
    assert code == 0 and "secret" not in out.lower(), out
    assert "secrets" not in json.loads(portal("vendor", "show", "lms", "--json")[1])
    code, _, err = portal("vendor", "rotate-secret", "lms")
    assert code != 0 and "uses no API secret" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert portal.scalar("SELECT count(*) FROM vendor_secret") == 0

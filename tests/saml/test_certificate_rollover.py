"""Certificate rollover (issue 24): `portal keys rotate`, as an operator runs it, beside a live
portal, with both stock SPs — python3-saml and pysaml2 — configured from the metadata URL alone.
The next certificate is in the metadata before it signs; an SP that fetches the metadata again
(as docs/saml.md says it must) accepts assertions before the rotation, during the overlap and
after the new key signs; one that kept its first copy (the old certificate only) refuses the new
signatures; two days on, the old certificate has left the metadata.

The portal runs on the test's clock, moved past the 15 minutes before the new key signs and the
two days the old one stays published. The SPs check times against their own clock: python3-saml
is put on the test's clock (its one clock, OneLogin_Saml2_Utils.now), pysaml2 allows that much
skew (its accepted_time_diff)."""

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import httpx
import pytest
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

from portal.saml import names
from portal.settings import Settings
from tests.conftest import FakeClock
from tests.oidc.live_flows import on_the_tests_clock, portal_command
from tests.saml import pysaml2_sp
from tests.saml.saml_flows import (
    ACS_REQUEST,
    add_saml_vendor,
    consumed,
    pem_body,
    posted_fields,
    sign_in_through,
    sp_from_metadata_url,
)

pytestmark = [
    pytest.mark.usefixtures("ada"),
    pytest.mark.skipif(pysaml2_sp.XMLSEC1 is None, reason="Debian's xmlsec1 is not installed"),
]
CLI_SECRET_KEY = "k" * 48  # what `portal …` beside the live portal seals keys with (live_flows)
TWO_DAYS_ON = timedelta(days=2, minutes=1)


class StockSp(Protocol):
    def certificates(self) -> list[str]:
        """The portal's signing certificates this SP knows (base64 DER)."""

    async def refusal(self, browser: httpx.AsyncClient) -> str | None:
        """Sign ada in through this SP: why it refused the answer, or None when it accepted."""


class OneLogin:
    def __init__(self, metadata_url: str) -> None:
        self.settings = sp_from_metadata_url(metadata_url)

    def certificates(self) -> list[str]:
        idp = self.settings["idp"]
        return [pem_body(c.encode()) for c in idp.get("x509certMulti", {}).get("signing", [])] or [
            pem_body(idp["x509cert"].encode())
        ]

    async def refusal(self, browser: httpx.AsyncClient) -> str | None:
        sp_auth = OneLogin_Saml2_Auth(ACS_REQUEST, self.settings)
        page = await sign_in_through(browser, sp_auth.login())
        auth = consumed(self.settings, posted_fields(page.text)[1], sp_auth.get_last_request_id())
        return None if auth.is_authenticated() else str(auth.get_last_error_reason())


class Pysaml2:
    def __init__(self, metadata_url: str, directory: Path) -> None:
        skew = int(TWO_DAYS_ON.total_seconds()) + 3600
        self.client = pysaml2_sp.client(
            pysaml2_sp.config(directory, metadata_url, allowed_skew=skew)
        )
        self.idp = metadata_url

    def certificates(self) -> list[str]:
        found = self.client.metadata.certs(self.idp, "idpsso", "signing")
        return ["".join(cert.split()) for _, cert in found]  # its copies are wrapped in lines

    async def refusal(self, browser: httpx.AsyncClient) -> str | None:
        request_id, info = self.client.prepare_for_authenticate(
            entityid=self.idp, binding=BINDING_HTTP_REDIRECT
        )
        page = await sign_in_through(browser, dict(info["headers"])["Location"])
        fields = posted_fields(page.text)[1]
        try:
            answer = self.client.parse_authn_request_response(
                fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"}
            )
        except Exception as refused:  # pysaml2 refuses by raising, in several classes
            return f"{type(refused).__name__}: {refused}"
        return None if answer and answer.ava else "no assertion"


@pytest.fixture
def portal_url(settings: Settings, now_clock: FakeClock) -> Iterator[str]:
    with on_the_tests_clock(settings, now_clock, secret_key=CLI_SECRET_KEY) as url:
        yield url


def published(metadata_url: str) -> list[str]:
    """The signing certificates the metadata publishes now, newest first."""
    root = etree.fromstring(httpx.get(metadata_url).content)
    return [c.text or "" for c in root.iter(f"{{{names.DS}}}X509Certificate")]


async def roll_over(
    make: Callable[[str], StockSp],
    portal_url: str,
    database_url: str,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    """The rotation's phases with the SP `make(metadata_url)` makes, fetching the metadata."""
    metadata_url = f"{portal_url}/saml/metadata"
    (old,) = published(metadata_url)
    first = make(metadata_url)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        assert await first.refusal(browser) is None  # before

        rotated = json.loads(portal_command(database_url, tmp_path, "keys", "rotate", "--json"))
        new, still_old = published(metadata_url)
        assert still_old == old and new != old  # the next certificate, before it signs
        during = make(metadata_url)
        assert during.certificates() == [new, old]
        assert await during.refusal(browser) is None
        assert await first.refusal(browser) is None  # the old key still signs

        clock.current = datetime.fromisoformat(rotated["signs_from"]) + timedelta(seconds=1)
        assert published(metadata_url) == [new, old]
        after = make(metadata_url)
        assert await after.refusal(browser) is None
        assert await during.refusal(browser) is None  # it had the new one before it signed
        refused = await first.refusal(browser)  # only the old certificate: the new one is unknown
        assert refused is not None and "ignature" in refused, refused

        clock.current += TWO_DAYS_ON
        assert published(metadata_url) == [new]  # the old certificate has left the metadata
        assert make(metadata_url).certificates() == [new]


async def test_python3_saml_keeps_signing_in_across_a_rotation(
    portal_url: str,
    database_url: str,
    tmp_path: Path,
    now_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        OneLogin_Saml2_Utils, "now", staticmethod(lambda: int(now_clock.current.timestamp()))
    )
    await add_saml_vendor(database_url)
    await roll_over(OneLogin, portal_url, database_url, tmp_path, now_clock)


async def test_pysaml2_keeps_signing_in_across_a_rotation(
    portal_url: str, database_url: str, tmp_path: Path, now_clock: FakeClock
) -> None:
    def make(metadata_url: str) -> Pysaml2:
        return Pysaml2(metadata_url, tmp_path)

    own = pysaml2_sp.config(tmp_path, f"{portal_url}/saml/metadata")
    await add_saml_vendor(database_url, metadata=pysaml2_sp.own_metadata(own))
    await roll_over(make, portal_url, database_url, tmp_path, now_clock)

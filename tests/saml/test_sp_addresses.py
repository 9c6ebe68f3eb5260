"""A SAML site's addresses — the AssertionConsumerService and SingleLogoutService locations of its
metadata — follow the rule of every address a vendor gives (https, within its registered
domains): refused by `portal vendor add/set`, naming the address (the dashboard's refusals:
tests/admin/test_vendor_saml_settings.py); a domain holding one stays; and /saml/sso and
/saml/slo refuse to use one that is off the vendor's domains today (metadata saved before the
rule)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart import Quart
from sqlalchemy import delete
from sqlmodel import col, select

from portal.audit_models import AuditEvent
from portal.models import VendorDomain
from portal.saml import names
from portal.saml.models import SamlServiceProvider
from portal.settings import Settings
from tests.cli_runner import Runner
from tests.conftest import FakeClock, running_app
from tests.flows import Inputs, unit_of_work
from tests.saml import sp
from tests.saml.saml_flows import add_saml_vendor
from tests.saml.test_sso_refusals import ISSUER, logout_query, signed

ELSEWHERE_ACS = (
    f'<md:AssertionConsumerService Binding="{names.POST}" Location="{sp.ACS}" index="1"/>'
    f'<md:AssertionConsumerService Binding="{names.POST}" '
    'Location="https://collector.example.net/acs" index="2"/>'
)


ADD = ("vendor", "add", "lms", "--name", "Learning Hub", "--protocol", "saml")


def test_portal_vendor_refuses_metadata_off_the_vendors_domains(
    portal: Runner, tmp_path: Path
) -> None:
    path = tmp_path / "sp.xml"
    path.write_bytes(sp.metadata())
    code, _, err = portal(
        *ADD, "--domain", "learning-hub.example.org", "--metadata-file", str(path)
    )
    assert code != 0 and len(err.strip().splitlines()) == 1, err
    assert "--metadata-file" in err and "https://sp.example.com/saml/acs" in err, err
    assert "not on learning-hub.example.org" in err
    assert portal.scalar("SELECT count(*) FROM vendor") == 0

    code, _, err = portal(*ADD, "--domain", "sp.example.com", "--metadata-file", str(path))
    assert (code, err) == (0, ""), err
    path.write_bytes(sp.metadata(consumers=ELSEWHERE_ACS))
    code, _, err = portal("vendor", "set", "lms", "--metadata-file", str(path))
    assert code != 0 and "https://collector.example.net/acs" in err, err
    assert len(err.strip().splitlines()) == 1, err
    consumers = "SELECT jsonb_array_length(assertion_consumers) FROM saml_service_provider"
    assert portal.scalar(consumers) == 2  # the earlier metadata stays

    # A domain its metadata's addresses are on stays, as a sign-out page's does.
    code, _, err = portal(
        "vendor", "set", "lms", "--add-domain", "other.example.com",
        "--remove-domain", "sp.example.com",
    )  # fmt: skip
    assert code != 0 and "SAML 2.0" in err and "sp.example.com/saml" in err, err
    assert portal.scalar("SELECT count(*) FROM vendor_domain") == 1


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    async with running_app(settings, clock, issuer=ISSUER) as app:
        yield app


async def off_its_domains(database_url: str) -> None:
    """A SAML site whose saved metadata is off its domains now: saved before the rule (or by
    hand), as no form allows today."""
    await add_saml_vendor(database_url, metadata=sp.metadata())
    async with unit_of_work(database_url) as session:
        vendor_id = (await session.exec(select(SamlServiceProvider))).one().vendor_id
        await session.exec(delete(VendorDomain))  # type: ignore[call-overload]
        session.add(VendorDomain(vendor_id=vendor_id, domain="learning-hub.example.org"))


async def refusals(database_url: str, event: str) -> list[object]:
    query = select(AuditEvent).where(col(AuditEvent.event) == event)
    async with unit_of_work(database_url) as session:
        return [row.details.get("reason") for row in await session.exec(query)]


async def test_sso_posts_nothing_to_an_address_off_the_vendors_domains(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    await off_its_domains(database_url)
    answer = await app.test_client().get(f"/saml/sso?{signed()(clock)}")
    html = await answer.get_data(as_text=True)
    assert answer.status_code == 400, html
    assert "https://sp.example.com/saml/acs-two" in html and "import" in html
    assert "SAMLResponse" not in html and not Inputs(html).forms
    assert await refusals(database_url, "saml.refused") == ["outside_domains"]


async def test_slo_answers_nothing_to_an_address_off_the_vendors_domains(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    await off_its_domains(database_url)
    answer = await app.test_client().get(f"/saml/slo?{logout_query(clock)}")
    html = await answer.get_data(as_text=True)
    assert answer.status_code == 400, html
    assert "https://sp.example.com/saml/slo" in html
    assert await refusals(database_url, "saml.logout_refused") == ["outside_domains"]


async def test_my_sites_opens_nothing_at_an_address_off_the_vendors_domains(
    app: Quart, database_url: str
) -> None:
    await off_its_domains(database_url)
    async with unit_of_work(database_url) as session:
        provider = (await session.exec(select(SamlServiceProvider))).one()
        provider.idp_initiated = True
        session.add(provider)
    answer = await app.test_client().get("/saml/start?vendor=lms")
    html = await answer.get_data(as_text=True)
    assert answer.status_code == 400, html
    assert "https://sp.example.com/saml/acs-two" in html and not Inputs(html).forms
    assert await refusals(database_url, "saml.refused") == ["outside_domains"]

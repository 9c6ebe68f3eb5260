"""Every call to iMIS is timed by call (its path without ids) and outcome, and the calls that get
no usable answer are counted as failures: what /metrics shows an operator about iMIS."""

import pytest
from prometheus_client import REGISTRY

from portal.directory.imis import ImisConfig, ImisUnavailable, sign_in
from tests.fake_imis import FakeImis
from tests.imis_samples import ADA_PASSWORD, ada


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_calls_are_timed_by_call_and_failures_counted(fake_imis: FakeImis) -> None:
    config = ImisConfig(url=fake_imis.url, timeout_seconds=5.0, deadline_seconds=10.0)
    timed = "portal_imis_call_duration_seconds_count"
    failed = "portal_imis_call_failures_total"
    person = sample(timed, call="GET /api/Person", outcome="2xx")
    token = sample(timed, call="POST /token", outcome="2xx")
    fake_imis.add(ada())
    await sign_in(config, "ada.lovelace", ADA_PASSWORD)
    assert sample(timed, call="GET /api/Person", outcome="2xx") == person + 1  # no id in it
    assert sample(timed, call="POST /token", outcome="2xx") == token + 1

    server_errors = sample(failed, call="POST /token", reason="5xx")
    fake_imis.fail("error500", on="/token")
    with pytest.raises(ImisUnavailable):
        await sign_in(config, "ada.lovelace", ADA_PASSWORD)
    assert sample(failed, call="POST /token", reason="5xx") == server_errors + 1

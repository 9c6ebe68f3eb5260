"""Fixtures of the SAML tests against stock SP libraries."""

from datetime import UTC, datetime

import pytest

from tests.conftest import FakeClock


@pytest.fixture
def now_clock() -> FakeClock:
    """A test clock set to the real time: a stock SP checks what the portal sends against its
    own clock, so the live portal's starts there (and a test moves it only where the SP can
    follow)."""
    found = FakeClock()
    found.current = datetime.now(UTC).replace(microsecond=0)
    return found

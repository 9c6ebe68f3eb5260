"""The demo's live sites and a visitor's browser, for every test of the demo vendors."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.demo.browser import Browser
from tests.live import LiveDemo, live_demo


@pytest.fixture
def demo(database_url: str, tmp_path: Path) -> Iterator[LiveDemo]:
    """`portal demo`'s portal and vendor sites, live, on the test database."""
    with live_demo(database_url, tmp_path) as running:
        yield running


@pytest.fixture
def visitor() -> Iterator[Browser]:
    with Browser() as browser:
        yield browser

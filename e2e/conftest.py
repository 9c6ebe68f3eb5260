"""Playwright in Chromium against live Hypercorn servers: the portal on 127.0.0.1 and the demo
vendor sites on localhost (other origins, so the browser keeps their cookies apart), on this
test's own database (../conftest.py). A failing test leaves a screenshot of its final state in
e2e/artifacts/. No trace is recorded unless asked for: `--tracing retain-on-failure` (or `on`)
keeps Playwright's trace in test-results/ (`playwright show-trace …`)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from pytest_playwright import CreateContextCallback

from tests.live import LiveDemo, live_demo

ARTIFACTS = Path(__file__).parent / "artifacts"
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 10_000
FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """The system's Chromium when there is one (CI installs Debian's), else Playwright's own."""
    quiet = ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    launch = {**browser_type_launch_args, "args": ["--no-sandbox", "--disable-gpu", *quiet]}
    if SYSTEM_CHROMIUM.exists():
        launch["executable_path"] = str(SYSTEM_CHROMIUM)
    return launch


@pytest.fixture
def demo(database_url: str, tmp_path: Path) -> Iterator[LiveDemo]:
    with live_demo(database_url, tmp_path) as running:
        yield running


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """The test's page (a member's browser, say)."""
    yield from watched(context, request, "")


@pytest.fixture
def staff_page(
    new_context: CreateContextCallback, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A second browser, with cookies of its own: the staff member's, beside the member's."""
    yield from watched(new_context(), request, "-staff")


def watched(context: BrowserContext, request: pytest.FixtureRequest, suffix: str) -> Iterator[Page]:
    """A page whose final state is saved as a screenshot if the test fails. pytest-playwright
    opens and closes the context (and records its trace when asked to)."""
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm: the staff member says yes
    yield page
    if request.node.stash.get(FAILED, False):
        ARTIFACTS.mkdir(exist_ok=True)
        name = request.node.name.replace("[", "-").replace("]", "") + suffix
        page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)

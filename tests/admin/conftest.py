import pytest
from quart import Quart

from tests.admin.browser import Browser, add_staff


@pytest.fixture
async def admin(app: Quart, database_url: str) -> Browser:
    await add_staff(database_url, "admin@example.org", "admin")
    browser = Browser(app)
    response = await browser.sign_in("admin@example.org")
    assert response.status_code == 303
    return browser


@pytest.fixture
async def viewer(app: Quart, database_url: str) -> Browser:
    await add_staff(database_url, "viewer@example.org", "viewer")
    browser = Browser(app)
    response = await browser.sign_in("viewer@example.org")
    assert response.status_code == 303
    return browser


@pytest.fixture
def anonymous(app: Quart) -> Browser:
    return Browser(app)

import pytest

from tests.flows import VendorLogin, add_member, add_vendor


@pytest.fixture
async def acme(database_url: str) -> VendorLogin:
    return await add_vendor(database_url)


@pytest.fixture
async def ada(database_url: str) -> None:
    await add_member(database_url)

import pytest

from tests.flows import VendorLogin
from tests.oidc.oidc_flows import add_oidc_vendor


@pytest.fixture
async def learn(database_url: str) -> VendorLogin:
    return await add_oidc_vendor(database_url)

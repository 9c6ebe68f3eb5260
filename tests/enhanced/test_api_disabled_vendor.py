"""A disabled vendor that authenticated correctly is told that its site is disabled, not that its
key or secret is wrong (which sends vendors rotating secrets for nothing); a caller without the
secret learns nothing about the vendor."""

import pytest
from quart import Quart
from sqlalchemy import text

from tests.flows import VendorLogin, issue_token, redeem, unit_of_work

pytestmark = pytest.mark.usefixtures("ada")


@pytest.mark.parametrize(
    ("secret", "says"),
    [(None, "This site is disabled at the portal"), ("wrong", "key or API secret is not right")],
)
async def test_a_disabled_vendor_with_the_right_secret_is_told_so(
    app: Quart, acme: VendorLogin, database_url: str, secret: str | None, says: str
) -> None:
    token = await issue_token(database_url)
    async with unit_of_work(database_url) as session:
        await session.execute(text("UPDATE vendor SET enabled = false"))
    response = await redeem(app.test_client(), acme, token, secret)
    assert response.status_code == 401
    body = await response.get_json()
    assert body["error"] == "invalid_client" and says in body["error_description"]

"""A disabled vendor that authenticated correctly is told that its site is disabled, in a code
of its own (403 `vendor_disabled`), not that its key or secret is wrong (which sends vendors
rotating secrets for nothing); a caller without the secret learns nothing about the vendor."""

import pytest
from quart import Quart
from sqlalchemy import text

from tests.flows import VendorLogin, issue_token, redeem, unit_of_work

pytestmark = pytest.mark.usefixtures("ada")


@pytest.mark.parametrize(
    ("secret", "status", "error", "says"),
    [
        (None, 403, "vendor_disabled", "This site is disabled at the portal"),
        ("wrong", 401, "invalid_client", "key or API secret is not right"),
    ],
)
async def test_a_disabled_vendor_with_the_right_secret_is_told_so(
    app: Quart,
    acme: VendorLogin,
    database_url: str,
    secret: str | None,
    status: int,
    error: str,
    says: str,
) -> None:
    token = await issue_token(database_url)
    async with unit_of_work(database_url) as session:
        await session.execute(text("UPDATE vendor SET enabled = false"))
    response = await redeem(app.test_client(), acme, token, secret)
    assert response.status_code == status
    body = await response.get_json()
    assert body == {"error": error, "error_description": body["error_description"]}
    assert says in body["error_description"]
    # Only the wrong secret is asked for credentials again.
    assert ("WWW-Authenticate" in response.headers) is (status == 401)

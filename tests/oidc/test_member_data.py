"""What the OpenID Connect front end holds about a member, in their own download (the account
page, issue 25): each grant, never a code or a token."""

import pytest
from quart import Quart

from tests.flows import VendorLogin, csrf_of, sign_in
from tests.oidc.oidc_flows import grant_row, tokens_for

pytestmark = pytest.mark.usefixtures("ada")


async def test_the_download_lists_the_members_grants_without_their_tokens(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    issued = await tokens_for(client, learn, scope="openid profile offline_access")
    account = await (await client.get("/account")).get_data(as_text=True)
    assert "Learn Academy" in account.split('data-testid="sites-used"')[1].split("</ul>")[0]

    response = await client.get("/account/data")
    body = await response.get_data(as_text=True)
    [grant] = (await response.get_json())["openid_connect_grants"]
    assert grant["site"] == "Learn Academy" and grant["scope"] == "openid profile offline_access"
    assert grant["collected_at"] is not None and grant["withdrawn_at"] is None
    assert grant["kept_signed_in_while_away"] is True
    for secret in (issued["access_token"], issued["refresh_token"], issued["id_token"]):
        assert secret not in body

    # Signing out everywhere withdraws offline access too: every site lets the member go.
    await client.post("/account/sign-out-everywhere", form={"csrf_token": csrf_of(account)})
    assert (await grant_row(database_url)).revoked_at is not None

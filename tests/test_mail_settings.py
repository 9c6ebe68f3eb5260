"""The mail settings: PORTAL_SMTP_URL's three schemes, a sender required with it, the iMIS
reset page over https only; and /dev/mail, the demo's caught mail, nowhere but the demo."""

import pytest
from quart import Quart

from portal import create_app
from portal.demo.mailbox import Mailbox
from portal.demo.run import with_mailbox
from portal.settings import SettingsError, load_settings
from tests.conftest import TEST_SECRET_KEY


@pytest.mark.parametrize(
    "url",
    [
        "smtp://relay:25",
        "smtp+starttls://user:secret@mail.example.org:587",
        "smtps://mail.example.org",
    ],
)
def test_the_three_ways_to_reach_a_mail_server(url: str) -> None:
    assert load_settings(smtp_url=url, mail_from="noreply@example.org").smtp_url == url


@pytest.mark.parametrize(
    "url", ["http://mail.example.org", "mail.example.org:25", "smtp://", "smtp://host/path?x=1"]
)
def test_anything_else_is_refused_in_one_line(url: str) -> None:
    with pytest.raises(SettingsError, match="PORTAL_SMTP_URL must be smtp://"):
        load_settings(smtp_url=url, mail_from="noreply@example.org")


def test_a_mail_server_needs_a_sender() -> None:
    with pytest.raises(SettingsError, match="PORTAL_MAIL_FROM"):
        load_settings(smtp_url="smtp://relay:25")


@pytest.mark.parametrize("url", ["http://imis.example.org/reset", "javascript:alert(1)"])
def test_the_imis_reset_page_is_https(url: str) -> None:
    with pytest.raises(SettingsError, match="must start with https://"):
        load_settings(imis_password_reset_url=url)


def app(env: str) -> Quart:
    return create_app(
        load_settings(env=env, secret_key=TEST_SECRET_KEY, public_url="https://sso.example.org")
    )


async def test_caught_mail_is_not_a_page_of_the_portal() -> None:
    response = await app("development").test_client().get("/dev/mail")
    assert response.status_code == 404


async def test_caught_mail_is_never_shown_outside_development() -> None:
    portal = with_mailbox(app("production"), Mailbox())
    response = await portal.test_client().get("/dev/mail")
    assert response.status_code == 404

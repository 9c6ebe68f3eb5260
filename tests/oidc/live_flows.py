"""A member's browser against a live portal (httpx with a cookie jar): sign in through an
authorization request and come back with the code, as a relying party receives it."""

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.flows import PASSWORD, csrf_of


async def sign_in_for(browser: httpx.AsyncClient, authorization_url: str) -> str:
    """Follow an authorization URL as a browser would, signing ada in on the way; returns the
    URL the portal sends the browser back to (the relying party's redirect URI)."""
    answer = await browser.get(authorization_url)
    assert answer.status_code == 303, answer.text
    location = answer.headers["Location"]
    if location.startswith("/sign-in?"):
        continuation = parse_qs(urlsplit(location).query)["next"][0]
        form = await browser.get(location)
        fields = {"csrf_token": csrf_of(form.text), "username": "ada", "password": PASSWORD}
        signed = await browser.post("/sign-in", data={**fields, "next": continuation})
        assert signed.status_code == 303, signed.text
        answer = await browser.get(signed.headers["Location"])
        assert answer.status_code == 303, answer.text
        location = answer.headers["Location"]
    return location


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}

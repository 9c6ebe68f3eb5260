"""What wrk cannot do, in asyncio with httpx: follow a member through pages, cookies and forms.

wrk's Lua sees one value per header name (a sign-in sets several cookies) and cannot tell which
of a thread's connections an answer came on, so stateful steps live here: the sign-ins that give
wrk its cookies and CSRF pairs, the whole flow of a member, and the race of a token sent twice."""

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from figures import Figures, percentile
from portal_process import Seed

HIDDEN = re.compile(r'name="(\w+)" value="([^"]*)"')
TOKEN_PATH = "/api/sso/user"


class Unexpected(Exception):
    """The portal answered otherwise than the step expects."""


def browser(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=30)


def expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise Unexpected(f"{response.request.method} {response.url.path}: {response.status_code}")
    return response


def hidden_fields(page: str) -> dict[str, str]:
    return dict(HIDDEN.findall(page))


def cookie_header(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str, query: str = ""
) -> httpx.Response:
    """The sign-in page, then its form posted: the 303 that signs the browser in."""
    page = expect(await client.get(f"/sign-in{query}"), 200)
    form = {**hidden_fields(page.text), "username": username, "password": password}
    return expect(await client.post("/sign-in", data=form), 303)


async def signed_in_cookies(base_url: str, seed: Seed, count: int) -> list[str]:
    """The Cookie headers of `count` browsers signed in (the members in turn)."""

    async def one(n: int) -> str:
        async with browser(base_url) as client:
            await sign_in(client, seed.usernames[n % len(seed.usernames)], seed.password)
            return cookie_header(client)

    return await asyncio.gather(*(one(n) for n in range(count)))


async def csrf_pairs(base_url: str, count: int) -> list[tuple[str, str]]:
    """(Cookie header, csrf_token) of `count` browsers that opened the sign-in page. A pair
    stays valid for any number of posts: the token lives in the signed cookie."""

    async def one() -> tuple[str, str]:
        async with browser(base_url) as client:
            page = expect(await client.get("/sign-in"), 200)
            return cookie_header(client), hidden_fields(page.text)["csrf_token"]

    return await asyncio.gather(*(one() for _ in range(count)))


async def member_flow(client: httpx.AsyncClient, seed: Seed, username: str) -> None:
    """A member arriving from the vendor without a portal session: the sign-in page, the
    sign-in, the token page, and the vendor redeeming the token."""
    client.cookies.clear()  # a new browser each time
    signed_in = await sign_in(client, username, seed.password, f"?vendor={seed.vendor}")
    page = expect(await client.get(signed_in.headers["location"]), 200)
    token = hidden_fields(page.text)["token"]
    expect(await redeeming(seed)(client, token), 200)


async def whole_flows(base_url: str, seed: Seed, connections: int, seconds: int) -> Figures:
    """`connections` members going through member_flow over and over for `seconds`."""
    deadline = time.monotonic() + seconds
    timings: list[float] = []
    errors: list[str] = []

    async def loop(n: int) -> None:
        async with browser(base_url) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    await member_flow(client, seed, seed.usernames[n % len(seed.usernames)])
                    timings.append(time.perf_counter() - started)
                except (Unexpected, KeyError, httpx.HTTPError) as exc:
                    errors.append(str(exc) or type(exc).__name__)

    started = time.monotonic()
    await asyncio.gather(*(loop(n) for n in range(connections)))
    return Figures(
        requests=len(timings),
        seconds=time.monotonic() - started,
        p50_ms=percentile(timings, 50),
        p99_ms=percentile(timings, 99),
        errors=len(errors),
        notes=[f"first error: {errors[0]}"] if errors else [],
    )


@dataclass(frozen=True)
class Race:
    tokens: int
    once: int  # redeemed by exactly one of its two requests: the promise
    twice: int  # redeemed by both: a token redeemed twice
    never: int  # refused to both: a token lost


Post = Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]


def redeeming(seed: Seed) -> Post:
    """The Enhanced vendor redeeming a token at the user service."""
    vendor = (seed.vendor, seed.secret)
    return lambda client, token: client.post(TOKEN_PATH, data={"token": token}, auth=vendor)


async def race(base_url: str, post: Post, tokens: list[str], delay: float) -> Race:
    """After `delay`, every one-time token (or code) posted twice at once on two connections
    (with the load running): exactly one of the two may succeed."""
    await asyncio.sleep(delay)
    async with browser(base_url) as first, browser(base_url) as second:

        async def both(token: str) -> int:
            answers = await asyncio.gather(*(post(client, token) for client in (first, second)))
            return sum(answer.status_code == 200 for answer in answers)

        wins = await asyncio.gather(*(both(token) for token in tokens))
    return Race(len(tokens), wins.count(1), wins.count(2), wins.count(0))

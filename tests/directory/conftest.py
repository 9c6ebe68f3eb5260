import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fake_imis import FakeImis, serving


@pytest.fixture
async def fake_imis() -> AsyncIterator[FakeImis]:
    fake = FakeImis()
    async with serving(fake.build_app()) as url:
        fake.url = url
        yield fake


@pytest.fixture
def imis_down_url() -> Iterator[str]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as unused:
        # Bound but never listening: connections are refused, and nothing else can take the port.
        unused.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{unused.getsockname()[1]}"

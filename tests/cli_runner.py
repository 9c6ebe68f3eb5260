"""The `portal` command run in-process against the test database (the `portal` fixture of
tests/conftest.py gives one to every CLI test)."""

import asyncio
import io

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from portal import cli


class Runner:
    def __init__(
        self, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ):
        self.url, self.monkeypatch, self.capsys = url, monkeypatch, capsys

    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            code = cli.main(list(argv))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def scalar(self, sql: str) -> object:
        async def query() -> object:
            engine = create_async_engine(self.url)
            async with engine.connect() as connection:
                value = await connection.scalar(text(sql))
            await engine.dispose()
            return value

        return asyncio.run(query())

    def execute(self, sql: str) -> None:
        async def run() -> None:
            engine = create_async_engine(self.url)
            async with engine.begin() as connection:
                await connection.execute(text(sql))
            await engine.dispose()

        asyncio.run(run())

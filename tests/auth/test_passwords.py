"""Every process but the test suite's hashes passwords at OWASP's argon2id cost; the suite's own
process hashes at argon2's least cost (portal/auth/passwords.py). What keeps the two apart."""

import ast
from pathlib import Path

from sqlalchemy import text

import portal
from tests import test_serve
from tests.flows import unit_of_work

PRODUCTION_COST = "$argon2id$v=19$m=19456,t=2,p=1$"


async def test_a_process_of_its_own_hashes_at_the_production_cost(
    database_url: str, tmp_path: Path
) -> None:
    """`portal member add` as an operator runs it: no test code in that process."""
    added = test_serve.portal(
        test_serve.environment(tmp_path, DATABASE_URL=database_url),
        *("member", "add", "--imis-id", "201", "--username", "mary", "--email", "m@example.org"),
        *("--first-name", "Mary", "--last-name", "Somerville", "--member-type", "REG"),
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    async with unit_of_work(database_url) as session:
        stored = (await session.execute(text("SELECT password_hash FROM member"))).scalar_one()
    assert stored.startswith(PRODUCTION_COST)


def test_no_module_of_the_portal_switches_the_test_cost_on() -> None:
    calls = [
        f"{path.name}:{node.lineno}"
        for path in Path(portal.__file__).parent.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and "cheap_hashing_for_tests" in ast.unparse(node.func).split(".")
    ]
    assert calls == []

"""The Dockerfile, read statically (no Docker engine runs in this suite): the image runs
`portal serve` as a user that is not root, installs exactly the locked dependencies, copies only
what exists, and carries no secret."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET_WORDS = re.compile(r"SECRET|PASSWORD|TOKEN|DATABASE_URL|_KEY", re.IGNORECASE)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    found = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    return [(parts[0].upper(), parts[1] if len(parts) > 1 else "") for parts in found]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (name, _) in enumerate(steps) if name == "FROM")
    return steps[last_from:]


def test_the_image_runs_portal_serve_as_a_user_that_is_not_root() -> None:
    stage = final_stage()
    assert stage[0] == ("FROM", "python:3.11-slim")
    names = [name for name, _ in stage]
    users = [value for name, value in stage if name == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert names.index("USER") < names.index("CMD")
    [command] = [json.loads(value) for name, value in stage if name == "CMD"]
    assert command[:2] == ["portal", "serve"] and "0.0.0.0" in command  # noqa: S104 - compared


def test_it_installs_the_locked_dependencies_and_copies_what_exists() -> None:
    steps = instructions()
    syncs = [value for name, value in steps if name == "RUN" and "uv sync" in value]
    assert syncs and all("--locked" in value and "--no-dev" in value for value in syncs)
    for name, value in steps:
        if name == "COPY" and not value.startswith("--from"):
            for source in value.split()[:-1]:
                assert (ROOT / source).exists(), source


def test_no_secret_is_built_into_the_image() -> None:
    for name, value in instructions():
        if name in ("ENV", "ARG", "LABEL"):
            assert not SECRET_WORDS.search(value), f"{name} {value}"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", "*.env"} <= set(ignored)

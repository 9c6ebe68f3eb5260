"""docs/configuration.md, written from the Settings model: every setting, its environment
variable, default, allowed values and description, so the reference cannot drift from the code.
Regenerate with `uv run python -m portal.configuration > docs/configuration.md`;
tests/test_configuration.py fails when the file and the model part."""

import sys
from typing import Any, get_args

from annotated_types import Ge, Gt, Le
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from portal.settings import Settings

HEADER = """# Configuration

Every setting comes from the environment (`portal/settings.py` is the one place they live).
This file is generated from it: `uv run python -m portal.configuration > docs/configuration.md`.
Production refuses to start with a weak `PORTAL_SECRET_KEY`, fallback key or metrics token,
or without `PORTAL_PUBLIC_URL`, in one line on standard error. Deployment:
[operations.md](operations.md).

| variable | default | allowed | meaning |
|---|---|---|---|
"""


def variable(name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    choices = getattr(alias, "choices", None)
    return str(choices[0]) if choices else f"PORTAL_{name.upper()}"


def default(field: FieldInfo) -> str:
    value: Any = field.default
    if value is PydanticUndefined and field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    if value in (None, ""):
        return "unset"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def allowed(field: FieldInfo) -> str:
    choices = get_args(field.annotation)
    if choices and all(isinstance(choice, str) for choice in choices):
        return ", ".join(f"`{choice}`" for choice in choices)
    low = next((f"≥ {m.ge}" for m in field.metadata if isinstance(m, Ge)), None)
    low = low or next((f"> {m.gt}" for m in field.metadata if isinstance(m, Gt)), None)
    high = next((f"≤ {m.le}" for m in field.metadata if isinstance(m, Le)), None)
    return ", ".join(bound for bound in (low, high) if bound)


def render() -> str:
    rows = [
        f"| `{variable(name, field)}` | {default(field)} | {allowed(field)} | {field.description} |"
        for name, field in Settings.model_fields.items()
    ]
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())

"""docs/configuration.md is what the Settings model says today: a setting added without a
description, or without regenerating the file, fails here."""

from pathlib import Path

from portal import configuration
from portal.settings import Settings

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_every_setting_is_described() -> None:
    assert [name for name, field in Settings.model_fields.items() if not field.description] == []


def test_the_reference_is_generated_from_the_settings() -> None:
    assert REFERENCE.read_text() == configuration.render(), (
        "docs/configuration.md is stale: uv run python -m portal.configuration > "
        "docs/configuration.md"
    )
    for name in Settings.model_fields:
        assert f"PORTAL_{name.upper()}" in REFERENCE.read_text() or name == "database_url"

"""Settings: one declarative list, documented, read from the environment and options."""

from pathlib import Path

import pytest

from placehub.config import SETTINGS, SettingError, load_settings, settings_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    """docs/settings.md lists every setting exactly as `placehub settings --markdown` prints it."""
    text = DOCS.read_text()
    assert text == settings_markdown(), "regenerate with: placehub settings --markdown > docs/settings.md"
    for setting in SETTINGS:
        assert setting.env_var in text and setting.help.strip()


def test_environment_then_overrides() -> None:
    """An env var beats the default, an explicit option beats the env var, types are parsed."""
    settings = load_settings({"PLACEHUB_PORT": "9000", "PLACEHUB_ANONYMOUS_WRITE": "yes"})
    assert settings.port == 9000 and settings.anonymous_write is True
    assert settings.sources["port"] == "environment"
    again = settings.replace(port="8123")
    assert again.port == 8123 and again.sources["port"] == "option"
    assert load_settings({}).database_url.startswith("sqlite:///var/")


@pytest.mark.parametrize(
    ("env", "message"),
    [({"PLACEHUB_PORT": "eighty"}, "whole number"), ({"PLACEHUB_ANONYMOUS_WRITE": "maybe"}, "true or false")],
)
def test_bad_values_say_what_to_fix(env: dict[str, str], message: str) -> None:
    """A malformed value names the variable and the expected form."""
    with pytest.raises(SettingError, match=message):
        load_settings(env)


def test_unknown_override_is_refused() -> None:
    """Overriding a setting that does not exist is an error, not silently ignored."""
    with pytest.raises(SettingError, match="unknown setting"):
        load_settings({}).replace(colour="red")

"""`.env.example` documents every setting, and what it documents loads."""

from __future__ import annotations

from pathlib import Path

from callcenter.config import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def _documented() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_every_setting_is_documented_with_a_comment() -> None:
    documented = _documented()
    aliases = {field.alias for field in Settings.model_fields.values() if field.alias}
    assert aliases - documented.keys() == set()
    lines = ENV_EXAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[index - 1].startswith("#"), f"no comment above {line.split('=')[0]}"


def test_documented_defaults_load(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    values = {k: v for k, v in _documented().items() if v and not k.startswith("LIVEKIT_URL")}
    settings = Settings(**values)  # type: ignore[arg-type]
    assert settings.transfer_mode.value == values["CALLCENTER_TRANSFER_MODE"]
    assert settings.default_region == values["CALLCENTER_DEFAULT_REGION"]

"""Control-plane settings: defaults, derived values, and errors that name their key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from controlplane import Settings
from controlplane.errors import ConfigError


def test_settings_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.database_path == Path("data/controlplane.sqlite3")
    assert (settings.port, settings.token_ttl_sec) == (8700, 604800)
    assert settings.gateway_s2s_url == settings.gateway_public_url == "http://127.0.0.1:8800"


def test_s2s_url_defaults_to_the_public_url() -> None:
    settings = Settings.from_env({"ZENHIRE_GATEWAY_PUBLIC_URL": "https://gw.example/"})
    assert dataclasses.astuple(settings)[4:6] == ("https://gw.example", "https://gw.example")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ZENHIRE_CONTROLPLANE_PORT", "eighty"),
        ("ZENHIRE_CONTROLPLANE_PORT", "70000"),
        ("ZENHIRE_TOKEN_TTL_SEC", "0"),
        ("ZENHIRE_GATEWAY_S2S_URL", "gateway:8800"),
    ],
)
def test_invalid_setting_names_its_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings.from_env({key: value})


@pytest.mark.parametrize(
    "environ",
    [
        {"ZENHIRE_CONTROLPLANE_HOST": "0.0.0.0"},
        {"ZENHIRE_CONTROLPLANE_HOST": "192.0.2.7", "ZENHIRE_S2S_SECRET": "too-short"},
    ],
)
def test_a_public_listener_refuses_a_weak_s2s_secret(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="ZENHIRE_S2S_SECRET"):
        Settings.from_env(environ)

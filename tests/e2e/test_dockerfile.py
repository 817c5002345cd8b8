"""The production image cannot be built here (no Docker engine), so check
that everything the Dockerfile copies and runs exists."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_every_copied_path_exists() -> None:
    copies = re.findall(r"^COPY\s+(.+)$", DOCKERFILE, flags=re.MULTILINE)
    assert copies
    for line in copies:
        *sources, _target = line.split()
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_every_python_package_is_copied() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert included
    for pattern in included:
        top = pattern.rstrip("*")
        assert (ROOT / top / "__init__.py").exists(), top
        assert re.search(rf"^COPY {top} ", DOCKERFILE, flags=re.MULTILINE), top


def test_the_command_is_a_console_script() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    command = re.search(r'^CMD \["([^"]+)", "([^"]+)", "([^"]+)"\]', DOCKERFILE, re.MULTILINE)
    assert command is not None
    assert command.group(1) in project["project"]["scripts"]
    assert command.groups()[1:] == ("gateway", "serve")


def test_the_image_environment_is_a_valid_configuration() -> None:
    block = re.search(r"^ENV ((?:.+\\\n)*.+)$", DOCKERFILE, re.MULTILINE)
    assert block is not None
    environ = dict(re.findall(r"(ZENHIRE_[A-Z_]+)=(\S+)", block.group(1)))
    assert environ["ZENHIRE_STATIC_DIR"] == "/app/static"
    with pytest.raises(ConfigError, match="ZENHIRE_S2S_SECRET"):
        Settings.from_env(environ)  # the image listens on 0.0.0.0: no default secret there
    settings = Settings.from_env({**environ, "ZENHIRE_S2S_SECRET": "s" * 32})
    assert settings.port == 8800 and settings.host == "0.0.0.0"


def test_the_image_runs_as_a_non_root_user() -> None:
    assert re.search(r"^USER (?!root)\S+", DOCKERFILE, re.MULTILINE)


def test_the_image_gets_the_audio_models_where_the_gateway_looks() -> None:
    """`scripts/models` fills sys.prefix's share/zenhire/models (audio.models)."""
    assert re.search(r"scripts/models python /usr/local", DOCKERFILE)
    assert "share/zenhire/models" in (ROOT / "scripts" / "models").read_text()

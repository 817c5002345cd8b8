"""The Compose deployment (deploy/) holds together: checked by reading it, since no
Docker engine runs here.

Which variables a service reads is not listed by hand: each service's settings
are loaded from the environment the compose file gives it (after the image's
own ``ENV``), through a mapping that records every key looked up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from controlplane.settings import Settings as ControlPlaneSettings
from gateway.settings import Settings as GatewaySettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_TEXT = (DEPLOY / "compose.yaml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
GATEWAY_COMMAND = ["zenhire", "gateway", "serve"]
CONTROLPLANE_COMMAND = ["zenhire", "controlplane", "serve"]
# A line setting a variable that a part merged separately reads: "# needs: <part>".
PENDING = re.compile(r"^\s*([A-Z][A-Z0-9_]*):.*#\s*needs:", re.MULTILINE)
REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::?[-?][^}]*)?\}")
STRONG_CHARS = 48


class RecordedEnviron(Mapping[str, str]):
    """An environment that remembers every key looked up in it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return self._values.get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _example_values() -> dict[str, str]:
    """deploy/env.example, with a strong value (its own for each key) wherever the
    operator must fill one in."""
    values = {}
    for line in (DEPLOY / "env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value if value and not value.endswith(":") else value + _strong(key)
    return values


def _strong(key: str) -> str:
    return (key.lower() * STRONG_CHARS)[:STRONG_CHARS]


EXAMPLE = _example_values()


def _interpolate(text: str) -> str:
    """Compose's ``${VAR}``, ``${VAR:?message}``, ``${VAR:-default}`` and ``$$``."""

    def value(match: re.Match[str]) -> str:
        return EXAMPLE[match.group(1)]

    return REFERENCE.sub(value, text).replace("$$", "$")


def _image_environment() -> dict[str, str]:
    dockerfile = (ROOT / "Dockerfile").read_text()
    block = re.search(r"^ENV ((?:.+\\\n)*.+)$", dockerfile, re.MULTILINE)
    assert block is not None
    return dict(re.findall(r"([A-Z_]+)=(\S+)", block.group(1)))


def _environment(service: dict[str, Any]) -> dict[str, str]:
    return {key: _interpolate(str(value)) for key, value in service["environment"].items()}


def _services(command: list[str]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in SERVICES.items() if s.get("command") == command}


def _reads(load: Callable[[Mapping[str, str]], object], environ: Mapping[str, str]) -> set[str]:
    recorded = RecordedEnviron({**_image_environment(), **environ})
    load(recorded)
    return recorded.read


GATEWAYS = _services(GATEWAY_COMMAND)
CONTROLPLANES = _services(CONTROLPLANE_COMMAND)
READERS: list[tuple[str, Callable[[Mapping[str, str]], object]]] = [
    *((name, GatewaySettings.from_env) for name in GATEWAYS),
    *((name, ControlPlaneSettings.from_env) for name in CONTROLPLANES),
]


def test_the_deployment_has_every_part() -> None:
    assert len(GATEWAYS) == 2 and len(CONTROLPLANES) == 1
    assert {"redis", "s3", "coturn", "proxy"} <= SERVICES.keys()
    for name in [*GATEWAYS, *CONTROLPLANES]:
        build = SERVICES[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"


def test_every_variable_referenced_is_in_the_example_file() -> None:
    assert set(REFERENCE.findall(COMPOSE_TEXT)) == EXAMPLE.keys()


@pytest.mark.parametrize(("name", "load"), READERS, ids=[name for name, _ in READERS])
def test_every_zenhire_variable_set_is_one_the_service_reads(
    name: str, load: Callable[[Mapping[str, str]], object]
) -> None:
    environ = _environment(SERVICES[name])
    pending = set(PENDING.findall(COMPOSE_TEXT))
    unread = {key for key in environ if key.startswith("ZENHIRE_")} - _reads(load, environ)
    assert unread - pending == set(), f"{name} sets variables nothing reads"


@pytest.mark.parametrize(("name", "load"), READERS, ids=[name for name, _ in READERS])
def test_a_needs_marker_goes_once_its_part_reads_the_variable(
    name: str, load: Callable[[Mapping[str, str]], object]
) -> None:
    """A ``# needs:`` line whose variable is read now: the part is merged, drop the marker."""
    environ = _environment(SERVICES[name])
    marked = {key for key in PENDING.findall(COMPOSE_TEXT) if key.startswith("ZENHIRE_")}
    assert marked & _reads(load, environ) & environ.keys() == set()


def _range(text: str) -> tuple[int, int]:
    low, high = re.split(r"[\s-]+", text.strip())
    return int(low), int(high)


def test_each_replica_publishes_the_udp_range_its_kernel_hands_out() -> None:
    taken: list[tuple[int, int]] = []
    for name, service in GATEWAYS.items():
        settings = GatewaySettings.from_env({**_image_environment(), **_environment(service)})
        assert settings.webrtc_ports is not None, name
        assert _range(service["sysctls"]["net.ipv4.ip_local_port_range"]) == settings.webrtc_ports
        published = [p for p in service["ports"] if p.endswith("/udp")]
        host, container = published[0].removesuffix("/udp").split(":")
        assert _range(host) == _range(container) == settings.webrtc_ports, name
        taken.append(settings.webrtc_ports)
    first, second = sorted(taken)
    assert first[1] < second[0], "replicas on one host need their own UDP ranges"


def test_the_replicas_have_their_own_names_and_share_redis_turn_and_the_secret() -> None:
    settings = [
        GatewaySettings.from_env({**_image_environment(), **_environment(service)})
        for service in GATEWAYS.values()
    ]
    assert len({s.operations.replica_id for s in settings}) == len(settings)
    assert len({(s.operations.redis_url, s.turn, s.s2s_secrets) for s in settings}) == 1
    coturn = " ".join(SERVICES["coturn"]["command"])
    assert "--use-auth-secret" in coturn
    assert "--static-auth-secret=${ZENHIRE_TURN_SECRET}" in coturn


def test_the_proxy_spreads_every_replica_and_serves_the_control_planes_fetches() -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    upstreams = re.search(r"reverse_proxy ((?:\S+:\d+ ?)+) \{", caddyfile)
    assert upstreams is not None
    ports = {
        name: _environment(s).get("ZENHIRE_GATEWAY_PORT", "8800") for name, s in GATEWAYS.items()
    }
    assert set(upstreams.group(1).split()) == {f"{name}:{port}" for name, port in ports.items()}
    assert "health_uri /readyz" in caddyfile
    assert not re.search(r"lb_policy (cookie|ip_hash|header)", caddyfile), "routing is sticky-free"
    control = _environment(next(iter(CONTROLPLANES.values())))
    assert control["ZENHIRE_GATEWAY_S2S_URL"] == "http://proxy:8080"
    assert re.search(r"^:8080 \{", caddyfile, re.MULTILINE)

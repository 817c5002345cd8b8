"""`zenhire gateway serve` as a process: the internal S2S listener, and whose
X-Forwarded-For it believes.

With ``ZENHIRE_S2S_PORT`` the S2S routes answer only on the internal
listener (the control plane fetches recordings there) and the public one
answers them 404; the internal one serves nothing else but the probes.
``X-Forwarded-For`` names the client only on a connection from a proxy in
``ZENHIRE_FORWARDED_ALLOW_IPS``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import websockets

from zenhire.bench.probe import python, started
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.servers import free_port
from zenhire.loopback.stack import (
    FAST_INTERVIEW_ENV,
    FAST_OUTBOX_ENV,
    Stack,
    gateway_environment,
    loopback_url,
    running_stack,
)
from zenhire.signing import Direction, Signer

SESSION_PATH = "/api/v1/candidate/session"


@asynccontextmanager
async def _gateway_process(
    stack: Stack, tmp_path: Path, env: Mapping[str, str]
) -> AsyncIterator[None]:
    settings = stack.gateway_settings
    variables = {
        **gateway_environment(settings.data_dir, settings.port, stack.control_url),
        **FAST_INTERVIEW_ENV,
        **FAST_OUTBOX_ENV,
        **env,
    }
    async with started(
        [python(), "-m", "zenhire.cli", "gateway", "serve"],
        core=None,
        env=variables,
        log_path=tmp_path / "gateway-process" / "gateway.log",
        ready_url=f"{stack.gateway_url}/healthz",
    ):
        yield


def _signed(stack: Stack, path: str) -> dict[str, str]:
    signer = Signer.of(stack.gateway_settings.s2s_secrets, Direction.TO_GATEWAY)
    return signer.headers("GET", path, b"")


@pytest.mark.attack(
    "S2S routes on the public listener",
    injected="S2S calls to the public port when an internal one is set",
    happened="404; served on the internal listener only",
)
async def test_the_s2s_routes_answer_only_on_the_internal_listener(tmp_path: Path) -> None:
    internal_port = free_port()
    internal = loopback_url(internal_port)
    async with (
        running_stack(
            tmp_path,
            start_gateway=False,
            controlplane_env={"ZENHIRE_GATEWAY_S2S_URL": internal},
        ) as stack,
        _gateway_process(stack, tmp_path, {"ZENHIRE_S2S_PORT": str(internal_port)}),
    ):
        http = stack.http
        assert (await http.get(f"{internal}/healthz")).status_code == 200
        session_id, candidate = await stack.open_candidate(Candidate)
        await candidate.interview([], end_after_sec=2.0)
        await stack.wait_for_status(session_id, "completed", timeout_sec=20)

        recording = f"/s2s/v1/sessions/{session_id}/recording"
        public = await http.get(stack.gateway_url + recording, headers=_signed(stack, recording))
        assert public.status_code == 404
        assert public.json()["error"]["code"] == "NOT_FOUND"
        served = await http.get(internal + recording, headers=_signed(stack, recording))
        assert served.status_code == 200
        assert served.headers["content-type"] == "audio/wav"

        # The integrator's recording, fetched by the control plane on the internal listener.
        proxied = await http.get(
            f"{stack.api}/sessions/{session_id}/recording",
            headers={**stack.headers, "Range": "bytes=0-43"},
        )
        assert proxied.status_code == 206
        assert proxied.content[:4] == b"RIFF"

        for path in ("/", SESSION_PATH, "/static/app.js", "/metrics"):
            assert (await http.get(internal + path)).status_code == 404, path
        assert (await http.post(internal + SESSION_PATH, json={"token": "x"})).status_code == 404
        with pytest.raises(websockets.InvalidStatus):
            await websockets.connect(internal.replace("http", "ws") + "/api/v1/candidate/ws")


async def _verify_as(stack: Stack, forwarded_for: str) -> int:
    response = await stack.http.post(
        stack.gateway_url + SESSION_PATH,
        content=json.dumps({"token": "no-such-token"}),
        headers={"X-Forwarded-For": forwarded_for, "Content-Type": "application/json"},
    )
    return response.status_code


@pytest.mark.attack(
    "spoofed X-Forwarded-For",
    injected="X-Forwarded-For from a client that is not a listed proxy",
    happened="ignored: the cap applies to the real address",
)
async def test_x_forwarded_for_is_ignored_unless_it_comes_from_a_listed_proxy(
    tmp_path: Path,
) -> None:
    caps = {"ZENHIRE_VERIFY_PER_ADDRESS_PER_MIN": "2"}
    async with running_stack(tmp_path, start_gateway=False) as stack:
        async with _gateway_process(stack, tmp_path, caps):
            # Every claimed address is the one socket's: the third attempt is over the cap.
            statuses = [await _verify_as(stack, f"198.51.100.{n}") for n in range(3)]
            assert statuses == [404, 404, 429]
        trusted = {**caps, "ZENHIRE_FORWARDED_ALLOW_IPS": "127.0.0.1"}
        async with _gateway_process(stack, tmp_path, trusted):
            # From a listed proxy, each forwarded client has a cap of its own.
            statuses = [await _verify_as(stack, f"198.51.100.{n}") for n in range(3)]
            assert statuses == [404, 404, 404]
            repeated = [await _verify_as(stack, "198.51.100.9") for _ in range(3)]
            assert repeated == [404, 404, 429]


def test_an_unusable_listener_setting_stops_start_up_naming_it() -> None:
    from gateway.errors import ConfigError
    from gateway.settings import Settings

    for env, key in (
        ({"ZENHIRE_S2S_PORT": "8800"}, "ZENHIRE_S2S_PORT"),
        ({"ZENHIRE_FORWARDED_ALLOW_IPS": "10.0.0.0/8,proxy.local"}, "ZENHIRE_FORWARDED_ALLOW_IPS"),
    ):
        with pytest.raises(ConfigError, match=key):
            Settings.from_env(env)
    found = Settings.from_env({"ZENHIRE_S2S_PORT": "8801"})
    assert found.edge.s2s_listener == ("127.0.0.1", 8801)

"""The S2S outbox never gives an event up silently: retried, or a dead letter to re-drive."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from controlplane.app import create_app as create_controlplane
from tests.operator import AUTH, OPERATOR_ENV
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.stack import Stack, running_stack

ROTATED = "a-secret-the-gateway-does-not-hold-0123456789"


async def _ended_while_control_plane_is_down(stack: Stack) -> str:
    """A live interview, the control plane stopped, then the candidate ends it."""
    session_id, candidate = await stack.open_candidate(Candidate)
    socket = await candidate.connect()
    await stack.wait_for_status(session_id, "active")
    await stack.control.stop()
    await socket.send(json.dumps({"type": "end"}))
    async with asyncio.timeout(20):
        async for message in socket:
            if isinstance(message, str) and json.loads(message)["type"] == "ended":
                break
    await socket.close()
    return session_id


async def _outbox(stack: Stack, *args: str) -> list[dict[str, Any]]:
    """``zenhire gateway outbox ...`` run as an operator would, beside the running gateway."""
    env = {**os.environ, "ZENHIRE_DATA_DIR": str(stack.gateway_settings.data_dir)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "zenhire.cli",
        "gateway",
        "outbox",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    assert process.returncode == 0
    return [json.loads(line) for line in stdout.decode().splitlines()]


async def _letters_soon(stack: Stack) -> list[dict[str, Any]]:
    async with asyncio.timeout(15):
        while True:
            letters = await _outbox(stack, "list")
            if letters:
                return letters
            await asyncio.sleep(0.5)


async def _dead_letter_gauge(stack: Stack) -> float:
    metrics = (await stack.http.get(f"{stack.gateway_url}/metrics", headers=AUTH)).text
    line = next(x for x in metrics.splitlines() if x.startswith("zenhire_outbox_dead_letters "))
    return float(line.split()[1])


@pytest.mark.fault(
    "control plane down past every retry",
    injected="control plane unreachable for longer than the outbox's age bound",
    happened="a dead letter (a metric, `outbox list`); `outbox redrive` delivers it",
)
async def test_an_event_past_its_age_becomes_a_dead_letter_and_is_redriven(
    tmp_path: Path,
) -> None:
    env = {**OPERATOR_ENV, "ZENHIRE_OUTBOX_MAX_AGE_SEC": "1.5"}
    async with running_stack(tmp_path, gateway_env=env) as stack:
        session_id = await _ended_while_control_plane_is_down(stack)
        letters = await _letters_soon(stack)
        assert [(x["session_id"], x["type"], x["state"]) for x in letters] == [
            (session_id, "session.completed", "expired")
        ]
        assert await _dead_letter_gauge(stack) == 1
        await stack.control.start()
        await asyncio.sleep(1.0)
        assert (await stack.session(session_id))["status"] == "active"  # not given silently
        assert await _outbox(stack, "redrive", "--all") == [{"redriven": 1}]
        await stack.wait_for_status(session_id, "completed", timeout_sec=15)
        assert await _outbox(stack, "list") == []
        assert await _dead_letter_gauge(stack) == 0


@pytest.mark.fault(
    "control plane answering 401",
    injected="control plane with another S2S secret (a half-rotated secret, a skewed clock)",
    happened="the event is retried, and delivered once the secrets agree",
)
async def test_a_control_plane_refusing_the_signature_is_retried_not_dropped(
    tmp_path: Path,
) -> None:
    """401 (a secret rotation half done, a skewed clock) is retried until it is mended."""
    async with running_stack(tmp_path) as stack:
        session_id = await _ended_while_control_plane_is_down(stack)
        right = stack.control_settings
        rotated = dataclasses.replace(right, s2s_secrets=(ROTATED,))
        stack.control.make_app = lambda: create_controlplane(rotated)
        await stack.control.start()
        await asyncio.sleep(2.0)  # several deliveries refused with 401
        assert (await stack.session(session_id))["status"] == "active"
        assert await _outbox(stack, "list") == []
        await stack.control.stop()
        stack.control.make_app = lambda: create_controlplane(right)
        await stack.control.start()
        await stack.wait_for_status(session_id, "completed", timeout_sec=15)

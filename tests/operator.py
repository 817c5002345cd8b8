"""An operator scripting the gateway's operator API, as docs/operator-api.md shows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from zenhire.loopback import secrets

OPERATOR = "alice"
OPERATOR_SECRET = secrets.register("alice-operator-key-0123456789", "operator key")
BOB_SECRET = secrets.register("bob-key-0123456789abc", "operator key")
OPERATOR_ENV = {"ZENHIRE_OPERATOR_KEYS": f"{OPERATOR}:{OPERATOR_SECRET},bob:{BOB_SECRET}"}
AUTH = {"Authorization": f"Bearer {OPERATOR_SECRET}"}


async def overview(http: httpx.AsyncClient, gateway_url: str) -> dict[str, Any]:
    response = await http.get(f"{gateway_url}/ops/api/v1/overview", headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def wait_overview(
    http: httpx.AsyncClient,
    gateway_url: str,
    ready: Callable[[dict[str, Any]], bool],
    timeout_sec: float = 10.0,
) -> dict[str, Any]:
    """The first overview for which ``ready`` holds."""
    async with asyncio.timeout(timeout_sec):
        while True:
            found = await overview(http, gateway_url)
            if ready(found):
                return found
            await asyncio.sleep(0.1)


async def end_session(http: httpx.AsyncClient, gateway_url: str, session_id: str) -> httpx.Response:
    return await http.post(f"{gateway_url}/ops/api/v1/sessions/{session_id}/end", headers=AUTH)


def live_ids(found: dict[str, Any]) -> set[str]:
    return {session["session_id"] for session in found["sessions"]}

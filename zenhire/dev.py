"""``zenhire dev``: the whole lifecycle on one machine, no keys needed.

Starts the reference control plane and the gateway on loopback, makes sure
a demo client exists (its API key is kept in ``<data dir>/dev-client.json``
so it survives restarts), creates a persona and a session through the real
integrator API, and prints the candidate link.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from controlplane.admin import create_client
from controlplane.app import create_app as create_controlplane
from controlplane.settings import Settings as ControlPlaneSettings
from gateway.app import create_app as create_gateway
from gateway.logs import configure_logging
from gateway.settings import Settings as GatewaySettings
from zenhire.loopback.integrator import API_PREFIX, Integrator
from zenhire.tasks import TaskGroup

DEMO_CLIENT_FILE = "dev-client.json"
DEMO_ROLE = "Senior Backend Engineer"
STARTUP_TIMEOUT_SEC = 15.0
WS_MAX_MESSAGE_BYTES = 64 * 1024
OPERATOR_KEY_BYTES = 24


async def run_dev(environ: Mapping[str, str]) -> None:
    environ = with_local_webhooks(with_operator_key(environ))
    control_settings = ControlPlaneSettings.from_env(environ)
    gateway_settings = GatewaySettings.from_env(environ)
    configure_logging()
    control_url = f"http://{control_settings.host}:{control_settings.port}"
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                create_controlplane(control_settings),
                host=control_settings.host,
                port=control_settings.port,
                log_level="warning",
            )
        ),
        uvicorn.Server(
            uvicorn.Config(
                create_gateway(gateway_settings),
                host=gateway_settings.host,
                port=gateway_settings.port,
                ws_max_size=WS_MAX_MESSAGE_BYTES,
                log_level="warning",
            )
        ),
    ]
    async with TaskGroup() as group:
        tasks = [group.create_task(server.serve()) for server in servers]
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT_SEC):
                while not all(server.started for server in servers):
                    if any(task.done() for task in tasks):
                        break
                    await asyncio.sleep(0.05)
            if all(server.started for server in servers):
                demo = await demo_session(control_url, control_settings)
                _banner(
                    control_url,
                    gateway_settings.public_url,
                    demo,
                    _console_url(gateway_settings.public_url, environ),
                )
            # Ctrl-C reaches one server's signal handler; stop the other with it.
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for server in servers:
                server.should_exit = True


async def demo_session(control_url: str, settings: ControlPlaneSettings) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        client = await _demo_client(http, f"{control_url}{API_PREFIX}", settings)
        integrator = Integrator(control_url, client["api_key"], http)
        persona_id = await integrator.create_persona(DEMO_ROLE)
        session = await integrator.start_session(persona_id, "explicit", "demo-candidate")
    return {**client, "persona_id": persona_id, **session}


async def _demo_client(
    http: httpx.AsyncClient, api: str, settings: ControlPlaneSettings
) -> dict[str, Any]:
    """The saved demo client if its key still works, else a new one."""
    saved = Path(settings.data_dir) / DEMO_CLIENT_FILE
    if saved.exists():
        client: dict[str, Any] = json.loads(saved.read_text())
        probe = await http.get(f"{api}/personas", headers={"X-API-Key": client["api_key"]})
        if probe.status_code == 200:
            return client
    client = create_client(settings, name="Demo company", credits=10_000)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps({"client_id": client["client_id"], "api_key": client["api_key"]}))
    saved.chmod(0o600)
    return client


def with_operator_key(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with a fresh operator key, unless the operator brought their own."""
    found = dict(environ)
    if not found.get("ZENHIRE_OPERATOR_KEY") and not found.get("ZENHIRE_OPERATOR_KEYS"):
        found["ZENHIRE_OPERATOR_KEY"] = secrets.token_urlsafe(OPERATOR_KEY_BYTES)
    return found


def with_local_webhooks(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` letting webhooks reach receivers on this machine, unless set already."""
    found = dict(environ)
    found.setdefault("ZENHIRE_WEBHOOKS_ALLOW_PRIVATE", "1")
    return found


def _console_url(gateway: str, environ: Mapping[str, str]) -> str:
    key = environ.get("ZENHIRE_OPERATOR_KEY")
    # The key rides in the fragment, which browsers never send to a server.
    return f"{gateway}/ops#key={key}" if key else f"{gateway}/ops"


def _banner(control_url: str, gateway_url: str, demo: dict[str, Any], console_url: str) -> None:
    session_url = f"{control_url}/api/v1/interview/sessions/{demo['session_id']}"
    lines = [
        "",
        "ZenHire interview gateway: dev stack is up (Ctrl-C to stop)",
        f"  control plane   {control_url}/api/v1/interview",
        f"  gateway         {gateway_url}",
        f"  API key         {demo['api_key']}",
        f"  persona         {demo['persona_id']}  ({DEMO_ROLE}, en)",
        f"  session         {demo['session_id']}",
        "",
        "Open the candidate link in Chrome or Firefox and allow the microphone:",
        f"  {demo['candidate_link']}",
        "",
        "Then fetch the results, as in the quickstart:",
        f'  curl -H "X-API-Key: {demo["api_key"]}" {session_url}',
        f'  curl -H "X-API-Key: {demo["api_key"]}" -o interview.wav {session_url}/recording',
        "",
        "Watch live interviews, slots and events in the operator console:",
        f"  {console_url}",
        "",
    ]
    print("\n".join(lines), flush=True)
    sys.stdout.flush()

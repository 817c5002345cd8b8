"""``zenhire dev --replicas N``: N gateway replicas on this machine, as deployed.

What `deploy/compose.yaml` runs, without containers: a redis-server for the
shared state and the outbox stream, an S3-compatible store (moto's server,
objects in memory) for recordings and live segments, the reference control
plane, N gateway processes (``zenhire gateway serve``, each its own replica
id, data directory and port) and Caddy in front of them on the gateway's
port, following each replica's ``/readyz`` as a load balancer does. Candidate
links point at Caddy, so a page whose replica dies or drains reconnects
through it to another, which takes the interview over.

A replica that exits (``kill -9`` it to see a takeover, or ``kill`` to see
a drain) is started again after `RESTART_AFTER_SEC`, as an orchestrator
would. Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from controlplane.app import create_app as create_controlplane
from controlplane.settings import Settings as ControlPlaneSettings
from gateway.logs import configure_logging
from gateway.settings import Settings as GatewaySettings
from zenhire.dev import (
    DEMO_ROLE,
    STARTUP_TIMEOUT_SEC,
    demo_session,
    with_local_webhooks,
    with_operator_key,
)
from zenhire.loopback.redis import redis_server
from zenhire.loopback.replicas import GatewayProcess
from zenhire.loopback.s3 import s3_environment, s3_server

log = logging.getLogger("zenhire.dev")

RESTART_AFTER_SEC = 2.0
WATCH_SEC = 0.5
BUCKET = "zenhire-dev"
CADDYFILE = """\
{{
\tadmin off
\tauto_https off
}}

http://{front} {{
\treverse_proxy {upstreams} {{
\t\tlb_policy least_conn
\t\t# A replica that drains, dies or is short of disk gets no new requests.
\t\thealth_uri /readyz
\t\thealth_interval 1s
\t\thealth_timeout 2s
\t\tlb_try_duration 5s
\t\tfail_duration 5s
\t}}
}}
"""
# What a replica keeps from the caller's environment: the rest is set here.
SHARED = ("ZENHIRE_OPERATOR_KEY", "ZENHIRE_OPERATOR_KEYS")


async def run_replicas(environ: Mapping[str, str], count: int) -> None:
    environ = with_local_webhooks(with_operator_key(environ))
    control_settings = ControlPlaneSettings.from_env(environ)
    front = GatewaySettings.from_env(environ)
    configure_logging()
    caddy = shutil.which("caddy")
    if caddy is None:
        raise SystemExit("zenhire dev --replicas: caddy is missing: run scripts/replicas")
    control_url = f"http://{control_settings.host}:{control_settings.port}"
    work = front.data_dir / "replicas"
    work.mkdir(parents=True, exist_ok=True)
    with redis_server(work / "redis") as redis_url, s3_server(BUCKET) as s3_url:
        s3_env = s3_environment(s3_url, BUCKET)
        replicas = [
            GatewayProcess(
                f"replica-{n + 1}",
                work,
                control_url,
                redis_url,
                port=front.port + 1 + n,
                fast=False,
                env={
                    **{name: environ[name] for name in SHARED if name in environ},
                    # The control plane's, whether the caller set one or not.
                    "ZENHIRE_S2S_SECRET": control_settings.s2s_secret,
                    **s3_env,
                    # Behind the front: the URL candidates open is Caddy's.
                    "ZENHIRE_GATEWAY_PUBLIC_URL": front.public_url,
                },
            )
            for n in range(count)
        ]
        async with _controlplane(control_settings) as serving, contextlib.AsyncExitStack() as up:
            for replica in replicas:
                await replica.start()
                up.push_async_callback(replica.stop)
            await up.enter_async_context(
                _caddy(caddy, work, f"{front.host}:{front.port}", replicas)
            )
            demo = await demo_session(control_url, control_settings)
            _banner(control_url, front.public_url, replicas, demo, environ)
            keeping = [asyncio.create_task(_keep(replica)) for replica in replicas]
            try:
                # Ctrl-C reaches the control plane's server, which stops: then all stop.
                await asyncio.wait([serving, *keeping], return_when=asyncio.FIRST_COMPLETED)
            finally:
                # Before the replicas are stopped: none is to be started again.
                for task in keeping:
                    task.cancel()
                await asyncio.gather(*keeping, return_exceptions=True)


@contextlib.asynccontextmanager
async def _controlplane(settings: ControlPlaneSettings) -> AsyncIterator[asyncio.Task[None]]:
    """The control plane served in this process; its serving task."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_controlplane(settings),
            host=settings.host,
            port=settings.port,
            log_level="warning",
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT_SEC):
            while not server.started:
                if serving.done():
                    await serving  # its error
                    raise SystemExit("the control plane did not start")
                await asyncio.sleep(0.05)
        yield serving
    finally:
        server.should_exit = True
        await serving


@contextlib.asynccontextmanager
async def _caddy(
    binary: str, work: Path, front: str, replicas: list[GatewayProcess]
) -> AsyncIterator[None]:
    upstreams = " ".join(f"127.0.0.1:{replica.port}" for replica in replicas)
    config = work / "Caddyfile"
    config.write_text(CADDYFILE.format(front=front, upstreams=upstreams))
    with (work / "caddy.log").open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            binary,
            "run",
            "--config",
            str(config),
            "--adapter",
            "caddyfile",
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        await _until_answering(f"http://{front}/readyz", process, work / "caddy.log")
        yield
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def _until_answering(url: str, process: asyncio.subprocess.Process, log_path: Path) -> None:
    """Until Caddy answers at ``url`` (through a replica); SystemExit if it quits."""
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_SEC
    async with httpx.AsyncClient(timeout=1.0) as http:
        while True:
            if process.returncode is not None:
                tail = (await asyncio.to_thread(log_path.read_text, errors="replace"))[-2000:]
                raise SystemExit(f"zenhire dev --replicas: caddy exited:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            if asyncio.get_running_loop().time() > deadline:
                raise SystemExit(f"zenhire dev --replicas: nothing answers at {url}")
            await asyncio.sleep(0.1)


async def _keep(replica: GatewayProcess) -> None:
    """Start the replica again whenever it exits, as an orchestrator would."""
    while True:
        code = await replica.wait(timeout_sec=None)
        log.warning(
            "replica exited; starting it again",
            extra={"replica_id": replica.replica_id, "returncode": code},
        )
        await asyncio.sleep(RESTART_AFTER_SEC)
        await replica.start()


def _banner(
    control_url: str,
    front_url: str,
    replicas: list[GatewayProcess],
    demo: dict[str, Any],
    environ: Mapping[str, str],
) -> None:
    key = environ.get("ZENHIRE_OPERATOR_KEY")
    lines = [
        "",
        f"ZenHire interview gateway: {len(replicas)} replicas behind Caddy (Ctrl-C to stop)",
        f"  control plane   {control_url}/api/v1/interview",
        f"  gateway         {front_url}   (Caddy, following each replica's /readyz)",
        *(
            f"  {replica.replica_id:<15} {replica.url}   pid {replica.pid}   log {replica.log_path}"
            for replica in replicas
        ),
        f"  API key         {demo['api_key']}",
        f"  persona         {demo['persona_id']}  ({DEMO_ROLE}, en)",
        "",
        "Open the candidate link in Chrome or Firefox and allow the microphone:",
        f"  {demo['candidate_link']}",
        "",
        "Mid-interview, kill -9 the replica it runs on (the console shows which): the page",
        "reconnects through Caddy and another replica takes the interview over. A replica",
        "that exits is started again, as an orchestrator would.",
        f"  {front_url}/ops" + (f"#key={key}" if key else ""),
        "",
    ]
    print("\n".join(lines), flush=True)

"""A scripted interview through the real gateway fires signed integrator webhooks."""

from __future__ import annotations

from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook

from controlplane import Settings, create_app, create_client
from gateway.app import create_app as create_gateway
from tests.controlplane.harness import API, FAST_ENV, SECRET, Receiver
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.servers import free_port, serve
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import gateway_settings

ANSWER = "I have built payment systems in Python for six years."


async def test_receiver_gets_started_and_completed_for_a_scripted_interview(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    await receiver.start()
    control_port, gateway_port = free_port(), free_port()
    control_url, gateway_url = (
        f"http://127.0.0.1:{control_port}",
        f"http://127.0.0.1:{gateway_port}",
    )
    settings = Settings.from_env(
        {
            "ZENHIRE_S2S_SECRET": SECRET,
            "ZENHIRE_DATA_DIR": str(tmp_path / "controlplane"),
            "ZENHIRE_GATEWAY_PUBLIC_URL": gateway_url,
            **FAST_ENV,
        }
    )
    client = create_client(settings, name="Acme")
    headers = {"X-API-Key": str(client["api_key"])}
    gateway = create_gateway(gateway_settings(tmp_path / "gateway", gateway_port, control_url, {}))
    async with (
        serve(create_app(settings), port=control_port),
        serve(gateway, port=gateway_port),
        httpx.AsyncClient(base_url=control_url + API, headers=headers, timeout=30) as http,
    ):
        hook = (await http.post("/webhooks", json={"url": receiver.url})).json()
        persona = (
            await http.post("/personas", json={"role_name": "Engineer", "language": "en"})
        ).json()
        created = (await http.post(f"/personas/{persona['id']}/sessions", json={})).json()
        token = created["candidate_link"].split("#t=", 1)[1]

        candidate = Candidate(gateway_url)
        assert (await candidate.open(http, token)).status_code == 200
        await candidate.interview([synthesize(ANSWER)])

        delivered = await receiver.wait_for(2, timeout_sec=30)
        verifier = Webhook(hook["secret"])
        events = [verifier.verify(d.body, d.headers) for d in delivered]
        assert [e["type"] for e in events] == ["session.started", "session.completed"]
        session = (await http.get(f"/sessions/{created['session_id']}")).json()
        assert events[1]["data"] == session
        assert session["status"] == "completed"
        assert events[0]["data"]["status"] == "active"
    await receiver.stop()

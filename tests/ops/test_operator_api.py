"""The operator API and /metrics against real servers with scripted candidates."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from gateway.ops.operators import OperatorKeys
from gateway.s2s.artifacts import recording_key, transcript_key
from gateway.settings import Settings
from tests.operator import (
    AUTH,
    OPERATOR,
    OPERATOR_ENV,
    OPERATOR_SECRET,
    end_session,
    live_ids,
    overview,
    wait_overview,
)
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.stack import running_stack
from zenhire.tasks import TaskGroup

pytestmark = pytest.mark.timeout(90)


async def test_console_and_api_do_not_exist_without_an_operator_key(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        page = await stack.http.get(f"{stack.gateway_url}/ops")
        assert page.status_code == 404
        assert "ZENHIRE_OPERATOR_KEY" in page.text
        api = await stack.http.get(f"{stack.gateway_url}/ops/api/v1/overview", headers=AUTH)
        assert api.status_code == 404
        assert api.json()["error"]["code"] == "OPERATOR_CONSOLE_DISABLED"


@pytest.mark.attack(
    "operator API without a key",
    injected="no key, a wrong key, a candidate ticket",
    happened="401/403",
)
async def test_operator_api_needs_an_operator_key_and_refuses_candidate_tickets(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path, gateway_env=OPERATOR_ENV) as stack:
        _, token = await stack.create_session()
        candidate = Candidate(stack.gateway_url)
        await candidate.open(stack.http, token)
        url = f"{stack.gateway_url}/ops/api/v1/overview"
        for headers in (
            {},
            {"Authorization": "Bearer wrong-key-0123456789"},
            {"Authorization": OPERATOR_SECRET},
            {"Authorization": f"Bearer {candidate.ticket}"},
            {"Authorization": f"Bearer {token}"},
        ):
            refused = await stack.http.get(url, headers=headers)
            assert refused.status_code == 401, headers
            assert refused.json()["error"]["code"] == "OPERATOR_UNAUTHORIZED"
        ticket_end = await stack.http.post(
            f"{stack.gateway_url}/ops/api/v1/drain",
            headers={"Authorization": f"Bearer {candidate.ticket}"},
        )
        assert ticket_end.status_code == 401
        assert (await stack.http.get(f"{stack.gateway_url}/readyz")).status_code == 200

        found = await overview(stack.http, stack.gateway_url)
        assert found["operator"] == OPERATOR
        assert found["sessions"] == [] and found["state_store"]["kind"] == "memory"
        page = await stack.http.get(f"{stack.gateway_url}/ops")
        assert page.status_code == 200 and "/static/ops/ops.js" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_operator_ends_a_live_interview(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The candidate hears ENDED_BY_OPERATOR, the session fails with it, artifacts are kept."""
    caplog.set_level(logging.INFO, logger="zenhire.audit")
    async with running_stack(tmp_path, gateway_env=OPERATOR_ENV) as stack:
        session_id, candidate = await stack.open_candidate(Candidate)
        async with TaskGroup() as group:
            group.create_task(candidate.interview([]))
            await wait_overview(stack.http, stack.gateway_url, lambda o: session_id in live_ids(o))
            unknown = await end_session(stack.http, stack.gateway_url, "no-such-session")
            assert unknown.status_code == 404
            ended = await end_session(stack.http, stack.gateway_url, session_id)
            assert ended.status_code == 202, ended.text
        assert candidate.kinds("ended")[-1]["reason"] == "ENDED_BY_OPERATOR"
        session = await stack.wait_for_status(session_id, "failed")
        assert session["error"]["code"] == "ENDED_BY_OPERATOR"
        stored = stack.gateway_settings.artifacts_dir
        assert (stored / recording_key(session_id)).stat().st_size > 44, "the recording is kept"
        assert (stored / transcript_key(session_id)).exists()
        found = await overview(stack.http, stack.gateway_url)
        assert found["recent"][0]["session_id"] == session_id
        assert found["recent"][0]["code"] == "ENDED_BY_OPERATOR"

    actions = [r for r in caplog.records if r.name == "zenhire.audit"]
    assert [(r.__dict__["operator"], r.__dict__["action"]) for r in actions] == [
        (OPERATOR, "end_session")
    ]
    assert all(OPERATOR_SECRET not in str(r.__dict__) for r in caplog.records)


@pytest.mark.fault(
    "replica draining",
    injected="an operator drains a replica with a live interview",
    happened="the live one goes on; new ones get GATEWAY_DRAINING",
)
async def test_draining_replica_keeps_live_interviews_and_refuses_new_ones(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path, gateway_env=OPERATOR_ENV) as stack:
        live_id, live_token = await stack.create_session()
        _, new_token = await stack.create_session()
        live = Candidate(stack.gateway_url)
        await live.open(stack.http, live_token)
        async with TaskGroup() as group:
            group.create_task(live.interview([]))
            await wait_overview(stack.http, stack.gateway_url, lambda o: live_id in live_ids(o))

            drained = await stack.http.post(f"{stack.gateway_url}/ops/api/v1/drain", headers=AUTH)
            assert drained.json() == {"replica_id": drained.json()["replica_id"], "draining": True}
            ready = await stack.http.get(f"{stack.gateway_url}/readyz")
            assert ready.status_code == 503 and ready.json()["draining"] is True

            newcomer = Candidate(stack.gateway_url)
            await newcomer.open(stack.http, new_token)
            async with await newcomer.connect() as socket:
                refusal = json.loads(await socket.recv())
                with pytest.raises(websockets.ConnectionClosedError):
                    await socket.recv()
            assert refusal["type"] == "error" and refusal["code"] == "GATEWAY_DRAINING"
            assert socket.close_code == 1013, "try again later: the page reconnects"
            frames = live.frames_sent
            await asyncio.sleep(0.5)
            assert live.frames_sent > frames, "the live interview goes on"

            await stack.http.post(f"{stack.gateway_url}/ops/api/v1/undrain", headers=AUTH)
            assert (await stack.http.get(f"{stack.gateway_url}/readyz")).status_code == 200
            await end_session(stack.http, stack.gateway_url, live_id)


async def test_metrics_after_a_scripted_interview(tmp_path: Path) -> None:
    async with running_stack(tmp_path, gateway_env=OPERATOR_ENV) as stack:
        session_id, candidate = await stack.open_candidate(Candidate)
        await candidate.interview([], end_after_sec=2.0)
        await stack.wait_for_status(session_id, "completed")

        metrics_url = f"{stack.gateway_url}/metrics"
        assert (await stack.http.get(metrics_url)).status_code == 401
        wrong = {"Authorization": "Bearer not-an-operator-key-0123"}
        assert (await stack.http.get(metrics_url, headers=wrong)).status_code == 401
        response = await stack.http.get(metrics_url, headers=AUTH)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    client = stack.client_id
    assert value("zenhire_sessions_started_total", client_id=client, transport="websocket") == 1
    assert (
        value("zenhire_sessions_finished_total", client_id=client, status="completed", code="none")
        == 1
    )
    assert value("zenhire_frame_relay_latency_seconds_count") >= 50
    assert value("zenhire_frame_relay_latency_seconds_bucket", le="0.1") >= 0.9 * value(
        "zenhire_frame_relay_latency_seconds_count"
    )
    assert value("zenhire_recording_bytes_total") >= 1.5 * 24_000 * 2 * 2  # 1.5 s, stereo PCM16
    assert (
        value("zenhire_event_delivery_attempts_total", type="session.started", result="accepted")
        == 1
    )
    assert value("zenhire_outbox_pending_events") == 0
    assert value("zenhire_replica_draining") == 0
    assert value("process_resident_memory_bytes") > 0
    assert value("process_cpu_seconds_total") > 0
    assert not any(session_id in str(key) for key in samples), "no session ids as labels"
    for name in ("zenhire_upstream_errors", "zenhire_upstream_reconnects_total"):
        assert name in response.text


def test_operator_identities_come_from_their_keys() -> None:
    settings = Settings.from_env({**OPERATOR_ENV, "ZENHIRE_OPERATOR_KEY": "x" * 16})
    keys = OperatorKeys(settings.operations.operator_keys)
    assert keys.identify(f"Bearer {OPERATOR_SECRET}") == OPERATOR
    assert keys.identify("bearer " + "x" * 16) == "operator"
    assert keys.identify("Bearer bob-key-0123456789abc") == "bob"
    assert keys.identify(f"Basic {OPERATOR_SECRET}") is None
    assert OPERATOR_SECRET not in repr(settings)
    assert not OperatorKeys(Settings.from_env({}).operations.operator_keys).enabled

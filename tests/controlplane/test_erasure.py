"""Erasure end to end: the request, the gateway's signed delete, receipts, 410, retention.

The cascade runs against the real gateway; `FakeGateway` stands in where a
test needs a gateway that misbehaves (503s) or sessions no gateway recorded.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controlplane.clock import format_timestamp
from tests.controlplane.harness import (
    FAST_ENV,
    FakeGateway,
    Platform,
    Receiver,
    assert_error,
    completed,
    running_platform,
    until,
)
from zenhire.cli import main
from zenhire.dev import with_local_webhooks
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.integrator import expect
from zenhire.loopback.servers import serve
from zenhire.loopback.stack import Stack, running_stack


async def finished(platform: Platform, **data: Any) -> str:
    session_id, _ = await platform.start()
    await platform.event(session_id, "session.started", {})
    await platform.event(session_id, "session.completed", completed(60, **data))
    return session_id


async def deletion_when_done(platform: Platform, deletion_id: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            deletion: dict[str, Any] = await platform.ok("GET", f"/deletions/{deletion_id}")
            if deletion["status"] != "pending":
                return deletion
            await asyncio.sleep(0.05)


async def test_erasure_cascades_to_the_gateway_and_leaves_a_receipt(tmp_path: Path) -> None:
    """A real interview on a real gateway: erased there, 410 here, a receipt and a webhook."""
    receiver = Receiver()
    await receiver.start()
    async with running_stack(tmp_path, controlplane_env=FAST_ENV) as stack:
        hook = await stack.http.post(
            f"{stack.api}/webhooks",
            json={"url": receiver.url, "events": ["session.artifacts_deleted"]},
            headers=stack.headers,
        )
        assert hook.status_code == 201, hook.text
        session_id, candidate = await stack.open_candidate(Candidate)
        await candidate.interview([], end_after_sec=1.0)
        await stack.wait_for_status(session_id, "completed")
        stored = stack.gateway_settings.artifacts_dir / "sessions" / session_id
        assert {p.name for p in stored.iterdir()} == {"recording.wav", "transcript.json"}

        erase = f"{stack.api}/sessions/{session_id}/artifacts"
        accepted = expect(await stack.http.delete(erase, headers=stack.headers), 202)
        assert accepted.keys() == {"deletion_id", "status"}
        for artifact in ("recording", "transcript"):
            response = await stack.http.get(
                f"{stack.api}/sessions/{session_id}/{artifact}", headers=stack.headers
            )
            assert_error(response, 410, "ARTIFACT_DELETED")
        deletion = await _deletion_when_done(stack, accepted["deletion_id"])
        assert (deletion["status"], deletion["reason"], deletion["session_id"]) == (
            "completed",
            "request",
            session_id,
        )
        receipt = deletion["receipt"]
        assert {(i["artifact"], i["key"]) for i in receipt["items"]} == {
            ("recording", f"sessions/{session_id}/recording.wav"),
            ("transcript", f"sessions/{session_id}/transcript.json"),
        }
        assert {i["location"] for i in receipt["items"]} == {"gateway:local"}
        assert receipt["completed_at"] == deletion["completed_at"]
        assert not stored.exists()
        again = expect(await stack.http.delete(erase, headers=stack.headers), 202)
        assert again == {"deletion_id": accepted["deletion_id"], "status": "completed"}
        event = (await receiver.wait_for(1))[0].event
        assert event["type"] == "session.artifacts_deleted"
        assert event["data"] == await stack.session(session_id)
    await receiver.stop()


async def _deletion_when_done(stack: Stack, deletion_id: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            response = await stack.http.get(
                f"{stack.api}/deletions/{deletion_id}", headers=stack.headers
            )
            deletion = expect(response, 200)
            if deletion["status"] != "pending":
                return deletion
            await asyncio.sleep(0.05)


async def test_erasure_retries_until_the_gateway_answers(tmp_path: Path) -> None:
    gateway = FakeGateway(status=503)
    async with (
        serve(gateway.app(), port=gateway.port),
        running_platform(tmp_path, ZENHIRE_GATEWAY_S2S_URL=gateway.url) as platform,
    ):
        session_id = await finished(platform)
        accepted = await platform.ok("DELETE", f"/sessions/{session_id}/artifacts", 202)
        await asyncio.sleep(0.6)
        pending = await platform.ok("GET", f"/deletions/{accepted['deletion_id']}")
        assert (pending["status"], pending["error"]) == ("pending", "gateway answered 503")
        assert pending["attempts"] >= 2
        gateway.status = 200
        assert (await deletion_when_done(platform, accepted["deletion_id"]))[
            "status"
        ] == "completed"


async def test_retention_erases_sessions_older_than_the_clients_limit(tmp_path: Path) -> None:
    gateway = FakeGateway()
    old = format_timestamp(datetime.now(UTC) - timedelta(days=3))
    async with (
        serve(gateway.app(), port=gateway.port),
        running_platform(
            tmp_path, client={"retention_days": 2}, ZENHIRE_GATEWAY_S2S_URL=gateway.url
        ) as platform,
    ):
        expired = await finished(platform, completed_at=old)
        recent = await finished(platform, completed_at=format_timestamp(datetime.now(UTC)))

        async def erased() -> bool:
            return expired in gateway.deleted

        await until(erased)
        assert_error(
            await platform.call("GET", f"/sessions/{expired}/transcript"), 410, "ARTIFACT_DELETED"
        )
        assert recent not in gateway.deleted
        response = await platform.call("GET", f"/sessions/{recent}/transcript")
        # Not erased: the request goes to the gateway, which has no transcript route here.
        assert_error(response, 404, "ARTIFACT_NOT_FOUND")


@pytest.mark.parametrize("status", ["initiated", "active"])
async def test_a_live_or_unused_session_cannot_be_erased(tmp_path: Path, status: str) -> None:
    async with running_platform(tmp_path) as platform:
        session_id, _ = await platform.start()
        if status == "active":
            await platform.event(session_id, "session.started", {})
        response = await platform.call("DELETE", f"/sessions/{session_id}/artifacts")
        assert assert_error(response, 409, "INVALID_TRANSITION")["details"] == {"status": status}


async def test_erasure_guards_ids(tmp_path: Path) -> None:
    gateway = FakeGateway()
    async with (
        serve(gateway.app(), port=gateway.port),
        running_platform(tmp_path, ZENHIRE_GATEWAY_S2S_URL=gateway.url) as platform,
    ):
        session_id = await finished(platform)
        intruder = platform.other_client()
        path = f"/sessions/{session_id}/artifacts"
        assert_error(await platform.call("DELETE", path, key=intruder), 403, "FORBIDDEN")
        accepted = await platform.ok("DELETE", path, 202)
        deletion = f"/deletions/{accepted['deletion_id']}"
        assert_error(await platform.call("GET", deletion, key=intruder), 403, "FORBIDDEN")
        assert_error(await platform.call("GET", f"/deletions/{uuid.uuid4()}"), 404, "NOT_FOUND")
        assert_error(
            await platform.call("DELETE", f"/sessions/{uuid.uuid4()}/artifacts"), 404, "NOT_FOUND"
        )


def test_create_client_takes_retention_days_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZENHIRE_DATA_DIR", str(tmp_path))
    assert main(["controlplane", "create-client", "--name", "Acme", "--retention-days", "30"]) == 0
    assert json.loads(capsys.readouterr().out)["retention_days"] == 30
    assert main(["controlplane", "create-client", "--name", "Acme", "--retention-days", "0"]) == 2


def test_zenhire_dev_lets_webhooks_reach_this_machine() -> None:
    assert with_local_webhooks({})["ZENHIRE_WEBHOOKS_ALLOW_PRIVATE"] == "1"
    assert (
        with_local_webhooks({"ZENHIRE_WEBHOOKS_ALLOW_PRIVATE": "0"})[
            "ZENHIRE_WEBHOOKS_ALLOW_PRIVATE"
        ]
        == "0"
    )

"""Integrator webhooks over real servers: registration, Standard Webhooks signatures,
durable ordered delivery with retries, rotation, deliveries and redelivery."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.controlplane.harness import (
    Platform,
    Receiver,
    assert_error,
    completed,
    running_platform,
    until,
)

FAILED = {"error": {"code": "CANDIDATE_LEFT", "message": "left"}}


async def register(platform: Platform, url: str, **body: Any) -> dict[str, Any]:
    created: dict[str, Any] = await platform.ok("POST", "/webhooks", 201, json={"url": url, **body})
    return created


async def test_registration_shows_the_secret_once(tmp_path: Path) -> None:
    async with running_platform(tmp_path) as platform:
        created = await register(platform, "https://93.184.216.34/hooks", description="ATS")
        assert created.keys() == {"id", "url", "events", "description", "secret", "created_at"}
        assert created["secret"].startswith("whsec_")
        assert created["events"] == [
            "session.started",
            "session.completed",
            "session.failed",
            "session.expired",
            "session.artifacts_deleted",
        ]
        listed = await platform.ok("GET", "/webhooks")
        assert listed == {"data": [{k: v for k, v in created.items() if k != "secret"}]}
        assert (await platform.call("DELETE", f"/webhooks/{created['id']}")).status_code == 204
        assert await platform.ok("GET", "/webhooks") == {"data": []}
        response = await platform.call("DELETE", f"/webhooks/{created['id']}")
        assert_error(response, 404, "NOT_FOUND")


async def test_interview_events_arrive_signed_and_in_order(tmp_path: Path) -> None:
    receiver = Receiver()
    await receiver.start()
    async with running_platform(tmp_path) as platform:
        hook = await register(platform, receiver.url)
        session_id, _ = await platform.start()
        await platform.event(session_id, "session.started", {})
        await platform.event(session_id, "session.completed", completed(60))
        delivered = await receiver.wait_for(2)
        verifier = Webhook(hook["secret"])
        events = [verifier.verify(d.body, d.headers) for d in delivered]
        assert [e["type"] for e in events] == ["session.started", "session.completed"]
        assert events[1]["data"] == await platform.session(session_id)
        assert {d.headers["webhook-id"] for d in delivered} == {
            d["id"]
            for d in (await platform.ok("GET", f"/webhooks/{hook['id']}/deliveries"))["data"]
        }
    await receiver.stop()


async def test_a_webhook_gets_only_its_events(tmp_path: Path) -> None:
    receiver = Receiver()
    await receiver.start()
    async with running_platform(tmp_path) as platform:
        await register(platform, receiver.url, events=["session.failed", "session.failed"])
        first, _ = await platform.start()
        await platform.event(first, "session.started", {})
        await platform.event(first, "session.failed", FAILED)
        delivered = await receiver.wait_for(1)
        await asyncio.sleep(0.3)
        assert [d.event["type"] for d in delivered] == ["session.failed"]
    await receiver.stop()


@pytest.mark.fault(
    "webhook receiver down",
    injected="the integrator's receiver down, then the control plane restarted",
    happened="each webhook arrives once, in order",
)
async def test_a_receiver_down_for_a_while_gets_each_event_once_in_order(
    tmp_path: Path,
) -> None:
    """Deliveries wait out the outage and a control-plane restart, then arrive once each."""
    receiver = Receiver()
    async with running_platform(tmp_path) as platform:
        hook = await register(platform, receiver.url)
        sessions = [(await platform.start())[0] for _ in range(2)]
        for session_id in sessions:
            await platform.event(session_id, "session.started", {})
        for session_id in sessions:
            await platform.event(session_id, "session.completed", completed(30))
        await asyncio.sleep(0.8)  # several failed attempts each
        deliveries = (await platform.ok("GET", f"/webhooks/{hook['id']}/deliveries"))["data"]
        assert {d["status"] for d in deliveries} == {"pending"}
        assert all(a["status_code"] is None for d in deliveries for a in d["attempts"])
        assert max(len(d["attempts"]) for d in deliveries) >= 2
        await platform.server.stop()
        await platform.server.start()
        await receiver.start()
        delivered = await receiver.wait_for(4)
        await asyncio.sleep(0.5)
        assert len(receiver.received) == 4
        ids = [d.headers["webhook-id"] for d in delivered]
        assert len(set(ids)) == 4
        for session_id in sessions:
            types = [d.event["type"] for d in delivered if d.event["data"]["id"] == session_id]
            assert types == ["session.started", "session.completed"]
        deliveries = (await platform.ok("GET", f"/webhooks/{hook['id']}/deliveries"))["data"]
        assert {d["status"] for d in deliveries} == {"succeeded"}
        assert all(d["attempts"][-1]["status_code"] == 200 for d in deliveries)
    await receiver.stop()


async def test_a_non_2xx_answer_is_retried(tmp_path: Path) -> None:
    receiver = Receiver(status=500)
    await receiver.start()
    async with running_platform(tmp_path) as platform:
        await register(platform, receiver.url)
        session_id, _ = await platform.start()
        await platform.event(session_id, "session.started", {})
        await receiver.wait_for(2)
        receiver.status = 204
        count = len(receiver.received)
        await receiver.wait_for(count + 1)
        await asyncio.sleep(0.5)
        assert len(receiver.received) == count + 1
        assert len({d.headers["webhook-id"] for d in receiver.received}) == 1
    await receiver.stop()


async def test_retries_stop_at_the_age_limit_and_a_manual_retry_redelivers(
    tmp_path: Path,
) -> None:
    receiver = Receiver(status=503)
    await receiver.start()
    async with running_platform(tmp_path, ZENHIRE_WEBHOOK_MAX_AGE_SEC="0.5") as platform:
        hook = await register(platform, receiver.url)
        session_id, _ = await platform.start()
        await platform.event(session_id, "session.started", {})
        path = f"/webhooks/{hook['id']}/deliveries"

        async def status_is(status: str) -> bool:
            return bool((await platform.ok("GET", path))["data"][0]["status"] == status)

        await until(lambda: status_is("failed"))
        delivery = (await platform.ok("GET", path))["data"][0]
        assert delivery["next_attempt_at"] is None
        assert all(a["status_code"] == 503 for a in delivery["attempts"])
        receiver.status = 200
        retried = await platform.ok("POST", f"{path}/{delivery['id']}/retry", 202)
        assert retried["status"] == "pending"
        await until(lambda: status_is("succeeded"))
        assert receiver.received[-1].headers["webhook-id"] == delivery["id"]
    await receiver.stop()


async def test_rotation_signs_with_both_secrets_during_the_overlap(tmp_path: Path) -> None:
    receiver = Receiver()
    await receiver.start()
    async with running_platform(tmp_path, ZENHIRE_WEBHOOK_SECRET_OVERLAP_SEC="1") as platform:
        hook = await register(platform, receiver.url)
        rotated = await platform.ok("POST", f"/webhooks/{hook['id']}/rotate-secret")
        assert rotated["secret"] != hook["secret"] and rotated["secret"].startswith("whsec_")
        first, _ = await platform.start()
        await platform.event(first, "session.started", {})
        overlap = (await receiver.wait_for(1))[0]
        assert len(overlap.headers["webhook-signature"].split(" ")) == 2
        Webhook(hook["secret"]).verify(overlap.body, overlap.headers)
        Webhook(rotated["secret"]).verify(overlap.body, overlap.headers)
        await asyncio.sleep(1.1)
        second, _ = await platform.start()
        await platform.event(second, "session.started", {})
        after = (await receiver.wait_for(2))[1]
        Webhook(rotated["secret"]).verify(after.body, after.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(hook["secret"]).verify(after.body, after.headers)
    await receiver.stop()


async def test_deliveries_are_cursor_paginated(tmp_path: Path) -> None:
    receiver = Receiver()
    await receiver.start()
    async with running_platform(tmp_path) as platform:
        hook = await register(platform, receiver.url, events=["session.started"])
        for _ in range(3):
            session_id, _ = await platform.start()
            await platform.event(session_id, "session.started", {})
        await receiver.wait_for(3)
        path = f"/webhooks/{hook['id']}/deliveries"
        first = await platform.ok("GET", path, params={"limit": 2})
        second = await platform.ok("GET", path, params={"limit": 2, "cursor": first["next_cursor"]})
        assert (len(first["data"]), len(second["data"]), second["next_cursor"]) == (2, 1, None)
        ids = [d["id"] for d in first["data"] + second["data"]]
        assert ids == [d.headers["webhook-id"] for d in reversed(receiver.received)]
    await receiver.stop()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",
        "http://localhost/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://169.254.169.254/latest",
        "http://[::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://0.0.0.0/hooks",
    ],
)
@pytest.mark.attack(
    "webhook to a private address (SSRF)",
    injected="loopback, link-local and private webhook URLs",
    happened="refused",
)
async def test_private_destinations_are_refused_by_default(tmp_path: Path, url: str) -> None:
    async with running_platform(tmp_path, ZENHIRE_WEBHOOKS_ALLOW_PRIVATE="0") as platform:
        response = await platform.call("POST", "/webhooks", json={"url": url})
        error = assert_error(response, 400, "VALIDATION_ERROR")
        assert error["details"]["errors"][0]["field"] == "url"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"url": "https://93.184.216.34/h",', "INVALID_JSON"),
        (b"[]", "VALIDATION_ERROR"),
        (b"{}", "VALIDATION_ERROR"),
        (b'{"url": 7}', "VALIDATION_ERROR"),
        (b'{"url": "ftp://93.184.216.34/h"}', "VALIDATION_ERROR"),
        (b'{"url": "not a url"}', "VALIDATION_ERROR"),
        (b'{"url": "https://"}', "VALIDATION_ERROR"),
        (b'{"url": "https://user:pw@93.184.216.34/h"}', "VALIDATION_ERROR"),
        (b'{"url": "https://93.184.216.34:99999/h"}', "VALIDATION_ERROR"),
        (b'{"url": "https://93.184.216.34/' + b"a" * 3000 + b'"}', "VALIDATION_ERROR"),
        (b'{"url": "https://93.184.216.34/h", "events": []}', "VALIDATION_ERROR"),
        (b'{"url": "https://93.184.216.34/h", "events": ["session.paused"]}', "VALIDATION_ERROR"),
        (b'{"url": "https://93.184.216.34/h", "events": "session.started"}', "VALIDATION_ERROR"),
        (b'{"url": "https://93.184.216.34/h", "description": 5}', "VALIDATION_ERROR"),
    ],
)
@pytest.mark.attack(
    "bad webhook registrations", injected="bad URLs and event names", happened="400"
)
async def test_bad_webhook_bodies_are_400(tmp_path: Path, body: bytes, code: str) -> None:
    async with running_platform(tmp_path, ZENHIRE_WEBHOOKS_ALLOW_PRIVATE="0") as platform:
        response = await platform.call("POST", "/webhooks", content=body)
        assert_error(response, 400, code)


@pytest.mark.attack("oversized integrator body", injected="a body past 64 KB", happened="413")
async def test_oversized_body_is_413(tmp_path: Path) -> None:
    async with running_platform(tmp_path) as platform:
        body = b'{"url": "http://127.0.0.1/h", "description": "' + b"x" * 70_000 + b'"}'
        assert_error(
            await platform.call("POST", "/webhooks", content=body), 413, "PAYLOAD_TOO_LARGE"
        )


async def test_other_clients_and_unknown_ids(tmp_path: Path) -> None:
    async with running_platform(tmp_path) as platform:
        hook = await register(platform, "http://127.0.0.1:9/hooks")
        intruder = platform.other_client()
        base = f"/webhooks/{hook['id']}"
        for method, path in [
            ("DELETE", base),
            ("POST", f"{base}/rotate-secret"),
            ("GET", f"{base}/deliveries"),
            ("POST", f"{base}/deliveries/msg_x/retry"),
        ]:
            assert_error(await platform.call(method, path, key=intruder), 403, "FORBIDDEN")
            unknown = path.replace(hook["id"], "00000000-0000-0000-0000-000000000000")
            assert_error(await platform.call(method, unknown), 404, "NOT_FOUND")
        assert (await platform.ok("GET", "/webhooks", key=intruder)) == {"data": []}
        response = await platform.call("POST", f"{base}/deliveries/msg_unknown/retry")
        assert_error(response, 404, "NOT_FOUND")
        assert_error(
            await platform.call("GET", "/webhooks", key="zh_api_nope"), 401, "UNAUTHORIZED"
        )


@pytest.mark.parametrize(
    "query",
    [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"cursor": "%%%"}, {"cursor": "WzFd"}],
)
async def test_bad_delivery_queries_are_400(tmp_path: Path, query: dict[str, str]) -> None:
    async with running_platform(tmp_path) as platform:
        hook = await register(platform, "http://127.0.0.1:9/hooks")
        response = await platform.call("GET", f"/webhooks/{hook['id']}/deliveries", params=query)
        assert_error(response, 400, "VALIDATION_ERROR")

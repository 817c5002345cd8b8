"""The link lifecycle: listing with cursors and filters, expiry, revoke and reinvite."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tests.controlplane.harness import (
    VERIFY,
    Receiver,
    assert_error,
    completed,
    running_platform,
)

FAILED = {"error": {"code": "SESSION_TIMEOUT", "message": "over time"}}


async def test_list_is_newest_first_and_cursor_paginated(tmp_path: Path) -> None:
    async with running_platform(tmp_path) as platform:
        persona_id = await platform.persona()
        made = [(await platform.start(persona_id))[0] for _ in range(5)]
        pages, cursor = [], None
        while True:
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = await platform.ok("GET", "/sessions", params=params)
            pages.append([s["id"] for s in page["data"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [len(p) for p in pages] == [2, 2, 1]
        assert [i for p in pages for i in p] == list(reversed(made))
        first = (await platform.ok("GET", "/sessions"))["data"][0]
        assert first == await platform.session(made[-1])


async def test_list_filters_by_persona_status_and_candidate(tmp_path: Path) -> None:
    async with running_platform(tmp_path) as platform:
        one, two = await platform.persona(), await platform.persona()
        a, _ = await platform.start(one, candidate_ref="alice")
        b, _ = await platform.start(two, candidate_ref="bob")
        await platform.event(b, "session.started", {})
        intruder = platform.other_client()

        async def ids(key: str | None = None, **query: str) -> list[str]:
            page = await platform.ok("GET", "/sessions", params=query, key=key)
            return [s["id"] for s in page["data"]]

        assert await ids(persona_id=one) == [a]
        assert await ids(status="active") == [b]
        assert await ids(candidate_ref="alice") == [a]
        assert await ids(candidate_ref="alice", status="active") == []
        assert await ids(intruder) == []
        assert await ids(intruder, persona_id=one) == []


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "1.5"},
        {"status": "paused"},
        {"cursor": "not-a-cursor"},
        {"cursor": "WyJkZWxpdmVyaWVzIiwxXQ"},  # a deliveries cursor
        {"cursor": "x" * 600},
    ],
)
@pytest.mark.attack("bad list queries", injected="bad limits, cursors, filters", happened="400")
async def test_bad_list_queries_are_400(tmp_path: Path, query: dict[str, str]) -> None:
    async with running_platform(tmp_path) as platform:
        response = await platform.call("GET", "/sessions", params=query)
        assert_error(response, 400, "VALIDATION_ERROR")


async def test_an_unused_expired_link_expires_fires_a_webhook_and_is_refused(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    await receiver.start()
    async with running_platform(
        tmp_path, ZENHIRE_TOKEN_TTL_SEC="1", ZENHIRE_SWEEP_INTERVAL_SEC="0.2"
    ) as platform:
        await platform.ok("POST", "/webhooks", 201, json={"url": receiver.url})
        swept, swept_token = await platform.start()
        read, _ = await platform.start()
        await asyncio.sleep(1.1)
        # The on-read check expires `read` at once; the sweep gets `swept` on its own.
        assert (await platform.session(read))["status"] == "expired"
        delivered = await receiver.wait_for(2)
        assert sorted(d.event["data"]["id"] for d in delivered) == sorted([swept, read])
        assert {d.event["type"] for d in delivered} == {"session.expired"}
        assert (await platform.session(swept))["status"] == "expired"
        response = await platform.s2s(VERIFY, {"token": swept_token})
        assert_error(response, 410, "TOKEN_EXPIRED")
        listed = await platform.ok("GET", "/sessions", params={"status": "expired"})
        assert len(listed["data"]) == 2
        await asyncio.sleep(0.4)
        assert len(receiver.received) == 2  # once each
    await receiver.stop()


async def test_revoke_ends_an_unused_link(tmp_path: Path) -> None:
    receiver = Receiver()
    await receiver.start()
    async with running_platform(tmp_path) as platform:
        await platform.ok("POST", "/webhooks", 201, json={"url": receiver.url})
        session_id, token = await platform.start()
        revoked = await platform.ok("POST", f"/sessions/{session_id}/revoke")
        assert revoked == await platform.session(session_id)
        assert revoked["status"] == "expired"
        assert_error(await platform.s2s(VERIFY, {"token": token}), 410, "TOKEN_EXPIRED")
        again = await platform.ok("POST", f"/sessions/{session_id}/revoke")
        assert again["status"] == "expired"
        delivered = await receiver.wait_for(1)
        await asyncio.sleep(0.3)
        assert [d.event["type"] for d in delivered] == ["session.expired"]
        started, _ = await platform.start()
        await platform.event(started, "session.started", {})
        response = await platform.call("POST", f"/sessions/{started}/revoke")
        assert assert_error(response, 409, "INVALID_TRANSITION")["details"] == {"status": "active"}
    await receiver.stop()


async def test_reinvite_mints_a_new_session_for_a_failed_or_expired_one(tmp_path: Path) -> None:
    async with running_platform(tmp_path) as platform:
        persona_id = await platform.persona()
        failed, _ = await platform.start(persona_id, accommodations={"extra_time_pct": 50})
        await platform.event(failed, "session.failed", FAILED)
        created = await platform.ok("POST", f"/sessions/{failed}/reinvite", 201)
        assert created.keys() == {"session_id", "candidate_link", "expires_in", "reinvited_from"}
        assert created["reinvited_from"] == failed
        fresh = await platform.session(created["session_id"])
        assert (fresh["status"], fresh["persona_id"], fresh["candidate_ref"]) == (
            "initiated",
            persona_id,
            "candidate-12345",
        )
        token = created["candidate_link"].split("#t=", 1)[1]
        view = (await platform.s2s(VERIFY, {"token": token})).json()
        assert view["accommodations"] == {"extra_time_pct": 50}

        revoked, _ = await platform.start(persona_id)
        await platform.ok("POST", f"/sessions/{revoked}/revoke")
        assert (await platform.ok("POST", f"/sessions/{revoked}/reinvite", 201))["reinvited_from"]


@pytest.mark.parametrize("status", ["initiated", "active", "completed"])
async def test_reinvite_refuses_a_session_that_did_not_end_without_result(
    tmp_path: Path, status: str
) -> None:
    async with running_platform(tmp_path) as platform:
        session_id, _ = await platform.start()
        if status != "initiated":
            await platform.event(session_id, "session.started", {})
        if status == "completed":
            await platform.event(session_id, "session.completed", completed(60))
        response = await platform.call("POST", f"/sessions/{session_id}/reinvite")
        assert assert_error(response, 409, "INVALID_TRANSITION")["details"] == {"status": status}


async def test_lifecycle_endpoints_guard_ids(tmp_path: Path) -> None:
    async with running_platform(tmp_path) as platform:
        session_id, _ = await platform.start()
        intruder = platform.other_client()
        for action in ("revoke", "reinvite", "questions"):
            method = "GET" if action == "questions" else "POST"
            path = f"/sessions/{session_id}/{action}"
            assert_error(await platform.call(method, path, key=intruder), 403, "FORBIDDEN")
            unknown = f"/sessions/{uuid.uuid4()}/{action}"
            assert_error(await platform.call(method, unknown), 404, "NOT_FOUND")


async def test_reinvite_needs_credit(tmp_path: Path) -> None:
    async with running_platform(tmp_path, client={"credits": 5}) as platform:
        session_id, _ = await platform.start()
        await platform.event(session_id, "session.started", {})
        failed = {**FAILED, "duration_sec": 60, "recording_key": "r.wav"}
        await platform.event(session_id, "session.failed", failed)
        assert platform.balance() == 0
        response = await platform.call("POST", f"/sessions/{session_id}/reinvite")
        assert_error(response, 402, "INSUFFICIENT_CREDITS")

"""Gateway replicas as real processes on one real redis-server: one owner per
interview, forwarded joins, takeover after a crash."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import websockets

from audio.frames import SAMPLE_RATE
from gateway.s2s.artifacts import recording_key, transcript_key
from gateway.s2s.s3 import S3ArtifactStore
from gateway.session.segments import SegmentName, segments_prefix, stored_segments
from gateway.settings import Settings
from tests.audio_checks import stereo_channels
from tests.candidate.test_readiness import _readiness as readiness_result
from tests.operator import OPERATOR_ENV, live_ids, wait_overview
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.replicas import GatewayProcess
from zenhire.loopback.s3 import s3_environment, s3_server
from zenhire.loopback.stack import Stack, running_stack
from zenhire.tasks import TaskGroup

pytestmark = pytest.mark.timeout(60)

# The goal is 5 s at p95; a loaded test machine gets some slack.
TAKEOVER_LIMIT_SEC = 8.0


@asynccontextmanager
async def replicas(
    tmp_path: Path,
    redis_url: str,
    count: int = 2,
    max_concurrent: int = 4,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[tuple[Stack, list[GatewayProcess]]]:
    async with running_stack(tmp_path, start_gateway=False, max_concurrent=max_concurrent) as stack:
        found = [
            GatewayProcess(f"replica-{name}", tmp_path / "replicas", stack.control_url, redis_url)
            for name in "abc"[:count]
        ]
        for replica in found:
            replica.env = {**OPERATOR_ENV, **(env or {})}
        try:
            await asyncio.gather(*(replica.start() for replica in found))
            yield stack, found
        finally:
            await asyncio.gather(*(replica.stop() for replica in found))


async def until(check: Callable[[], bool], timeout_sec: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_sec
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def leg(candidate: Candidate, end_once: Callable[[], bool] | None = None) -> None:
    """One connection's part of the interview, until the gateway closes it or it drops.

    With ``end_once``, the candidate ends the interview a second after that holds
    (the recognizer of a loaded test machine may take long to answer).
    """
    try:
        async with await candidate.connect() as socket, TaskGroup() as group:
            group.create_task(candidate.converse(socket))
            if end_once is not None:
                await until(end_once)
                await asyncio.sleep(1.0)
                await socket.send(json.dumps({"type": "end"}))
    except* websockets.ConnectionClosed:
        pass


def terminal_events(stack: Stack, session_id: str) -> list[str]:
    path = stack.control_settings.database_path
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT type FROM events WHERE session_id = ? AND type != 'session.started'",
            (session_id,),
        ).fetchall()
    return [str(row[0]) for row in rows]


async def one_completed(stack: Stack, session_id: str) -> None:
    await stack.wait_for_status(session_id, "completed")
    await asyncio.sleep(1.0)  # a second report would come within the outbox's retry
    assert terminal_events(stack, session_id) == ["session.completed"]


async def started(stack: Stack, replica: GatewayProcess) -> tuple[str, Candidate]:
    session_id, token = await stack.create_session()
    candidate = Candidate(replica.url)
    await candidate.open(stack.http, token)
    return session_id, candidate


@pytest.mark.fault(
    "owner SIGKILLed mid-interview",
    injected="SIGKILL of the replica running the interview, the page reconnecting to another",
    happened="taken over from the checkpoint within the lease; reported once, completed",
)
async def test_a_killed_owners_interview_continues_on_another_replica(
    tmp_path: Path, redis: str
) -> None:
    """SIGKILL mid-interview → reconnect elsewhere → taken over from the checkpoint."""
    async with replicas(tmp_path, redis) as (stack, (first, second)):
        session_id, candidate = await started(stack, first)
        connection = asyncio.create_task(leg(candidate))
        await until(lambda: bool(candidate.speech_starts))
        await asyncio.sleep(1.0)  # a checkpoint or two
        killed_at = time.monotonic()
        first.kill()
        await connection
        candidate.gateway_url = second.url
        await leg(candidate, end_once=lambda: candidate.heard_after(killed_at) is not None)

        assert candidate.kinds("ended")[-1]["reason"] == "completed"
        resumed = candidate.kinds("live")[-1]
        assert resumed["resumed"] is True and resumed["elapsed_sec"] >= 1
        heard = candidate.heard_after(killed_at)
        assert heard is not None and heard - killed_at < TAKEOVER_LIMIT_SEC
        captions = [e["text"] for e in candidate.kinds("caption") if e["speaker"] == "interviewer"]
        assert any("lost the connection" in text for text in captions)
        await one_completed(stack, session_id)


@pytest.mark.fault(
    "join on a non-owner",
    injected="a reload's WebSocket reaching a replica that does not run the interview",
    happened="piped to the owner; one live copy, reported once",
)
async def test_a_websocket_join_on_a_non_owner_is_piped_to_the_owner(
    tmp_path: Path, redis: str
) -> None:
    """The reload lands on the other replica: forwarded, the interview stays one copy."""
    async with replicas(tmp_path, redis) as (stack, (owner, other)):
        session_id, candidate = await started(stack, owner)
        first = asyncio.create_task(leg(candidate))
        await until(lambda: bool(candidate.kinds("live")))
        # The other replica knows the ticket's session from its first checkpoint on.
        await asyncio.sleep(1.0)
        reload = Candidate(other.url, ticket=candidate.ticket)
        relayed = asyncio.create_task(leg(reload, end_once=lambda: reload.frames_received > 100))
        await until(lambda: bool(reload.kinds("live")))
        # One copy, on the owner: the other replica only relays.
        seen = await wait_overview(stack.http, other.url, lambda o: session_id in live_ids(o))
        assert [s["replica_id"] for s in seen["sessions"]] == [owner.replica_id]
        await relayed
        await first

        assert candidate.kinds("error")[-1]["code"] == "SUPERSEDED"
        assert reload.kinds("live")[0]["resumed"] is True
        assert reload.kinds("ended")[-1]["reason"] == "completed"
        assert reload.frames_received > 100
        await one_completed(stack, session_id)


@pytest.mark.fault(
    "every replica drained by SIGTERM in turn",
    injected="a rolling deploy: SIGTERM of each replica in turn, each restarted before the next",
    happened="final checkpoint, lease released, pages told reconnect; every interview taken "
    "over at once, each reported completed once",
)
@pytest.mark.timeout(120)
async def test_a_rolling_restart_of_every_replica_moves_every_live_interview_and_loses_none(
    tmp_path: Path, redis: str
) -> None:
    """SIGTERM each replica in turn: its interviews reconnect to the other at once."""
    async with replicas(tmp_path, redis) as (stack, (first, second)):
        people = [await started(stack, first), await started(stack, second)]
        candidates = [candidate for _, candidate in people]
        legs = [asyncio.create_task(leg(candidate)) for candidate in candidates]
        await until(lambda: all(candidate.speech_starts for candidate in candidates))
        await asyncio.sleep(1.0)  # a checkpoint or two
        for going, staying, last in ((first, second, False), (second, first, True)):
            moved_at = time.monotonic()
            going.terminate()
            moved = [
                n for n, candidate in enumerate(candidates) if candidate.gateway_url == going.url
            ]
            assert moved
            for n in moved:
                candidate = candidates[n]
                await legs[n]
                assert candidate.kinds("reconnect")[-1]["reason"] == "GATEWAY_DRAINING"
                candidate.gateway_url = staying.url
                # On the last move, each ends its interview once it hears the interviewer.
                heard_again = _heard_after(candidate, moved_at) if last else None
                legs[n] = asyncio.create_task(leg(candidate, end_once=heard_again))
            assert await going.wait() == 0
            for n in moved:
                await until(_heard_after(candidates[n], moved_at))
                heard = candidates[n].heard_after(moved_at)
                assert heard is not None and heard - moved_at < TAKEOVER_LIMIT_SEC
            if not last:
                await going.start()
        await asyncio.gather(*legs)

        for session_id, candidate in people:
            assert candidate.kinds("live")[-1]["resumed"] is True
            assert candidate.kinds("ended")[-1]["reason"] == "completed"
            await one_completed(stack, session_id)


def _heard_after(candidate: Candidate, moment: float) -> Callable[[], bool]:
    return lambda: candidate.heard_after(moment) is not None


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with s3_server() as url:
        yield url


def _on_s3(endpoint: str, prefix: str, **extra: str) -> tuple[dict[str, str], S3ArtifactStore]:
    """The replicas' variables for artifacts on S3 under ``prefix``, and that store."""
    env = {**s3_environment(endpoint, ZENHIRE_S3_PREFIX=prefix), **extra}
    settings = Settings.from_env(env)
    assert settings.s3 is not None
    return env, S3ArtifactStore(settings.s3)


async def _segment_names(store: S3ArtifactStore, session_id: str) -> list[SegmentName]:
    return sorted(s.name for s in stored_segments(await store.list(segments_prefix(session_id))))


@pytest.mark.fault(
    "owner SIGKILLed mid-interview, recording in S3 segments",
    injected="SIGKILL of the owner while its segments reach S3; another replica takes over",
    happened="the new owner writes its segments under its token, from the takeover's offset; "
    "one recording on one timeline",
)
async def test_a_taken_over_interview_continues_the_same_recording_in_segments(
    tmp_path: Path, redis: str, s3_endpoint: str
) -> None:
    s3_env, store = _on_s3(s3_endpoint, "takeover", ZENHIRE_RECORDING_SEGMENT_SEC="1")
    async with replicas(tmp_path, redis, env=s3_env) as (stack, (first, second)):
        session_id, candidate = await started(stack, first)
        connection = asyncio.create_task(leg(candidate))
        await until(lambda: bool(candidate.speech_starts))
        await asyncio.sleep(2.0)  # a segment or two, a checkpoint or two
        killed_at = time.monotonic()
        first.kill()
        await connection
        before = await _segment_names(store, session_id)
        assert before and {name.epoch for name in before} == {before[0].epoch}
        candidate.gateway_url = second.url
        taken_over: list[SegmentName] = []

        async def watch_segments() -> None:
            while not taken_over:
                names = await _segment_names(store, session_id)
                taken_over.extend(n for n in names if n.epoch > before[0].epoch)
                await asyncio.sleep(0.2)

        watcher = asyncio.create_task(watch_segments())
        await leg(
            candidate,
            end_once=lambda: candidate.heard_after(killed_at) is not None and bool(taken_over),
        )
        watcher.cancel()
        assert taken_over, "the new owner shipped no segment"
        # The new owner's first segment starts where its timeline does: at or after
        # the last audio the first owner shipped (the outage between is silence).
        last_before = before[-1]
        assert taken_over[0].seq == 0
        assert taken_over[0].start > 0, "the new owner started the timeline over"
        assert taken_over[0].start >= last_before.start
        assert candidate.kinds("ended")[-1]["reason"] == "completed"
        session = await stack.wait_for_status(session_id, "completed")
        key = recording_key(session_id)
        wav = b"".join([chunk async for chunk in store.read(key, 0, await store.size(key) - 1)])
        left, _, rate = stereo_channels(wav)
        assert rate == SAMPLE_RATE
        # One recording on the interview's timeline: both owners' parts and the gap.
        assert len(left) / rate >= taken_over[0].start / SAMPLE_RATE
        assert abs(len(left) / rate - session["duration_sec"]) <= 1.5
        assert await _segment_names(store, session_id) == []


@pytest.mark.fault(
    "owner SIGKILLed for good, candidate never back",
    injected="SIGKILL of the replica running the interview; the candidate does not reconnect",
    happened="another replica adopts it once lease and grace ran out: failed CANDIDATE_LEFT, "
    "the recording from its segments, reported once",
)
async def test_an_interview_whose_replica_died_and_candidate_left_is_ended_by_another(
    tmp_path: Path, redis: str, s3_endpoint: str
) -> None:
    s3_env, store = _on_s3(
        s3_endpoint,
        "orphans",
        ZENHIRE_RECORDING_SEGMENT_SEC="1",
        ZENHIRE_RECONNECT_GRACE_SEC="2",
    )
    async with replicas(tmp_path, redis, env=s3_env) as (stack, (first, _)):
        session_id, candidate = await started(stack, first)
        connection = asyncio.create_task(leg(candidate))
        # The first question asked, then the interviewer listening: a turn in the checkpoint.
        await until(
            lambda: (
                bool(candidate.kinds("caption"))
                and [e["state"] for e in candidate.kinds("state")][-1:] == ["listening"]
            )
        )
        await asyncio.sleep(2.0)  # segments and checkpoints
        first.kill()
        await connection
        shipped = await _segment_names(store, session_id)
        assert shipped

        # Lease (2 s), a checkpoint's interval and the grace (2 s), then a look or two.
        session = await stack.wait_for_status(session_id, "failed", timeout_sec=30.0)
        assert session["error"]["code"] == "CANDIDATE_LEFT"
        await asyncio.sleep(1.0)
        assert terminal_events(stack, session_id) == ["session.failed"]
        key = recording_key(session_id)
        wav = b"".join([chunk async for chunk in store.read(key, 0, await store.size(key) - 1)])
        left, _, _ = stereo_channels(wav)
        # Everything the dead replica shipped is in the recording.
        last = shipped[-1]
        assert len(left) >= last.start
        # The control plane serves artifacts of completed sessions only: read the store.
        key = transcript_key(session_id)
        raw = b"".join([chunk async for chunk in store.read(key, 0, await store.size(key) - 1)])
        assert json.loads(raw)["turns"], "the transcript from the checkpoint"


@pytest.mark.fault(
    "page's requests spread over replicas",
    injected="a balancer without sticky sessions: verify on one replica, consent and readiness "
    "on the other, the WebSocket on the first, a reload's verify on the other",
    happened="each replica knows what the page told the other; one interview, consent asked "
    "once, the readiness result in its transcript, reported once",
)
async def test_a_page_whose_requests_reach_different_replicas_is_interviewed_once(
    tmp_path: Path, redis: str, s3_endpoint: str
) -> None:
    s3_env, store = _on_s3(s3_endpoint, "spread")
    async with replicas(tmp_path, redis, env=s3_env) as (stack, (first, second)):
        session_id, token = await stack.create_session(consent_mode="explicit")
        candidate = Candidate(first.url)
        assert (await candidate.open(stack.http, token, consent=False)).status_code == 200
        assert candidate.session["consent"]["required"] is True
        ticket = {"ticket": candidate.ticket}
        consent = {
            **ticket,
            "accepted": True,
            "text_version": candidate.session["consent"]["version"],
        }
        answer = await stack.http.post(f"{second.url}/api/v1/candidate/consent", json=consent)
        assert answer.status_code == 200, answer.text
        readiness = {**ticket, "readiness": readiness_result()}
        answer = await stack.http.post(f"{second.url}/api/v1/candidate/readiness", json=readiness)
        assert answer.status_code == 200, answer.text
        # A reload reaching the other replica: consent is not asked again.
        reload = Candidate(second.url)
        assert (await reload.open(stack.http, token, consent=False)).status_code == 200
        assert reload.session["consent"]["accepted"] is True

        await leg(candidate, end_once=lambda: bool(candidate.speech_starts))

        assert not candidate.kinds("error"), candidate.kinds("error")
        assert candidate.kinds("ended")[-1]["reason"] == "completed"
        await one_completed(stack, session_id)
        key = transcript_key(session_id)
        raw = b"".join([chunk async for chunk in store.read(key, 0, await store.size(key) - 1)])
        document = json.loads(raw)
        assert document["readiness"]["echo_path"] == "strong"
        assert document["consent"]["text_version"] == consent["text_version"]

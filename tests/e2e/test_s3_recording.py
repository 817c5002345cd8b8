"""Artifacts on a real S3 endpoint (moto's server, its own process) over the whole stack.

The recording reaches the store in segments while the interview runs; the
finished recording is one WAV on the interview's timeline, fetched with
Range through the control plane. An S3 outage mid-interview (a real TCP
relay in front of moto, stopped and started again) buffers the segments in
the spool, and they reach the store when it returns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from audio.frames import SAMPLE_RATE
from audio.wav import BLOCK_ALIGN, HEADER_BYTES
from gateway.s2s.artifacts import recording_key
from gateway.s2s.s3 import S3ArtifactStore
from gateway.session.segments import SegmentName, segments_prefix, stored_segments
from gateway.settings import Settings
from tests.audio_checks import rms, stereo_channels
from tests.operator import AUTH, OPERATOR_ENV
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.s3 import TcpProxy, s3_environment, s3_server
from zenhire.loopback.servers import free_port
from zenhire.loopback.stack import Stack, running_stack
from zenhire.signing import Direction, Signer

SEGMENT_SEC = 2
SEGMENT_SAMPLES = SEGMENT_SEC * SAMPLE_RATE
INTERVIEW_SEC = 7.0
# The outage: S3 gone for a minute in the middle of an interview.
OUTAGE_SEC = 60.0
POLL_SEC = 0.2


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with s3_server() as url:
        yield url


def _store(endpoint: str, prefix: str) -> S3ArtifactStore:
    settings = Settings.from_env(s3_environment(endpoint, ZENHIRE_S3_PREFIX=prefix))
    assert settings.s3 is not None
    return S3ArtifactStore(settings.s3)


def _gateway_env(endpoint: str, prefix: str) -> dict[str, str]:
    return {
        **s3_environment(endpoint, ZENHIRE_S3_PREFIX=prefix),
        "ZENHIRE_RECORDING_SEGMENT_SEC": str(SEGMENT_SEC),
        **OPERATOR_ENV,
    }


async def _segment_names(store: S3ArtifactStore, session_id: str) -> list[SegmentName]:
    found = stored_segments(await store.list(segments_prefix(session_id)))
    for segment in found:
        assert segment.samples <= SEGMENT_SAMPLES <= 10 * SAMPLE_RATE
    return sorted(segment.name for segment in found)


async def _recording(stack: Stack, session_id: str) -> bytes:
    response = await stack.http.get(
        f"{stack.api}/sessions/{session_id}/recording", headers=stack.headers
    )
    assert response.status_code == 200, response.text
    return response.content


async def _pending_segments(stack: Stack) -> float:
    response = await stack.http.get(f"{stack.gateway_url}/metrics", headers=AUTH)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "zenhire_recording_segments_pending":
                return sample.value
    raise AssertionError("no zenhire_recording_segments_pending metric")


async def _eventually(check: Callable[[], Awaitable[bool]], within_sec: float) -> None:
    for _ in range(int(within_sec / POLL_SEC)):
        if await check():
            return
        await asyncio.sleep(POLL_SEC)
    raise AssertionError(f"{check.__name__} did not hold within {within_sec} s")


def _assert_contiguous(names: list[SegmentName]) -> None:
    assert [name.seq for name in names] == list(range(len(names)))
    assert [name.start for name in names] == [seq * SEGMENT_SAMPLES for seq in range(len(names))]
    assert {name.epoch for name in names} == {1}


@pytest.mark.timeout(90)
async def test_segments_reach_s3_while_the_interview_runs_and_become_one_wav(
    endpoint: str, tmp_path: Path
) -> None:
    store = _store(endpoint, "live")
    async with running_stack(tmp_path, gateway_env=_gateway_env(endpoint, "live")) as stack:
        session_id, candidate = await stack.open_candidate(Candidate)
        interview = asyncio.create_task(candidate.interview([], end_after_sec=INTERVIEW_SEC))
        seen: list[SegmentName] = []
        while not interview.done():
            seen = await _segment_names(store, session_id) or seen
            if len(seen) >= 2:
                break
            await asyncio.sleep(POLL_SEC)
        assert not interview.done(), "no two segments in the store while the interview ran"
        _assert_contiguous(seen)
        await interview
        session = await stack.wait_for_status(session_id, "completed")

        wav = await _recording(stack, session_id)
        left, right, rate = stereo_channels(wav)
        assert rate == SAMPLE_RATE
        assert abs(len(left) / rate - session["duration_sec"]) <= 1.0
        assert rms(right) > 100  # the interviewer's question, on the timeline
        # The assembled recording replaced its segments.
        assert await _segment_names(store, session_id) == []
        assert await store.size(recording_key(session_id)) == len(wav)

        # An <audio> element's seek: a byte range, through the control plane's proxy.
        middle = HEADER_BYTES + (len(wav) - HEADER_BYTES) // 2
        part = await stack.http.get(
            f"{stack.api}/sessions/{session_id}/recording",
            headers={**stack.headers, "Range": f"bytes={middle}-{middle + 9999}"},
        )
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes {middle}-{middle + 9999}/{len(wav)}"
        assert part.content == wav[middle : middle + 10000]
        past = await stack.http.get(
            f"{stack.api}/sessions/{session_id}/recording",
            headers={**stack.headers, "Range": f"bytes={len(wav)}-"},
        )
        assert past.status_code == 416
        transcript = await stack.http.get(
            f"{stack.api}/sessions/{session_id}/transcript", headers=stack.headers
        )
        assert transcript.status_code == 200
        assert transcript.json()["session_id"] == session_id


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.fault(
    "S3 unavailable for a minute",
    injected="the TCP path to S3 cut for 60 s mid-interview",
    happened="segments wait on disk (metric), all reach S3 when it returns; the final WAV is whole",
)
async def test_a_minute_without_s3_loses_nothing(endpoint: str, tmp_path: Path) -> None:
    """S3 refused for 60 s mid-interview: segments wait in the spool, then all arrive."""
    store = _store(endpoint, "outage")
    proxy = TcpProxy(int(endpoint.rsplit(":", 1)[1]))
    await proxy.start()
    env = _gateway_env(proxy.url, "outage")
    try:
        async with running_stack(tmp_path, gateway_env=env) as stack:
            session_id, candidate = await stack.open_candidate(Candidate)
            interview = asyncio.create_task(
                candidate.interview([], end_after_sec=OUTAGE_SEC + 3 * SEGMENT_SEC + 4)
            )

            async def stored() -> bool:
                return bool(await _segment_names(store, session_id))

            async def drained() -> bool:
                return await _pending_segments(stack) == 0

            await _eventually(stored, 3 * SEGMENT_SEC)
            await proxy.stop()
            outage_began = time.monotonic()
            await asyncio.sleep(OUTAGE_SEC / 2)
            pending = await _pending_segments(stack)
            await asyncio.sleep(OUTAGE_SEC - (time.monotonic() - outage_began))
            assert pending >= (OUTAGE_SEC / 2) // SEGMENT_SEC - 1
            assert not interview.done()
            await proxy.start()

            # Everything sealed during the outage arrives while the interview goes on.
            await _eventually(drained, 10.0)
            names = await _segment_names(store, session_id)
            assert len(names) >= OUTAGE_SEC // SEGMENT_SEC
            _assert_contiguous(names)
            segments = {
                name: b"".join(
                    [
                        chunk
                        async for chunk in store.read(
                            name.key(session_id), 0, SEGMENT_SAMPLES * BLOCK_ALIGN - 1
                        )
                    ]
                )
                for name in names
            }
            assert not interview.done()
            await interview
            session = await stack.wait_for_status(session_id, "completed")

            wav = await _recording(stack, session_id)
            left, _, rate = stereo_channels(wav)
            assert abs(len(left) / rate - session["duration_sec"]) <= 1.0
            for name, body in segments.items():
                at = HEADER_BYTES + name.start * BLOCK_ALIGN
                assert wav[at : at + len(body)] == body, f"segment {name.seq} differs"
    finally:
        await proxy.stop()


@pytest.mark.fault(
    "S3 down at fetch",
    injected="artifact fetch with the store unreachable",
    happened="503 ARTIFACT_STORE_UNAVAILABLE, not 404",
)
async def test_an_unreachable_store_answers_503_not_404(tmp_path: Path) -> None:
    env = s3_environment(f"http://127.0.0.1:{free_port()}")
    async with running_stack(tmp_path, gateway_env=env) as stack:
        path = "/s2s/v1/sessions/5f2c9a1e-0000/recording"
        headers = Signer.of([stack.gateway_settings.s2s_secret], Direction.TO_GATEWAY).headers(
            "GET", path, b""
        )
        async with httpx.AsyncClient() as http:
            response = await http.get(stack.gateway_url + path, headers=headers)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "ARTIFACT_STORE_UNAVAILABLE"


async def test_erasure_deletes_the_recording_in_s3_and_any_segments_left(
    endpoint: str, tmp_path: Path
) -> None:
    store = _store(endpoint, "erase")
    async with running_stack(tmp_path, gateway_env=_gateway_env(endpoint, "erase")) as stack:
        session_id, candidate = await stack.open_candidate(Candidate)
        await candidate.interview([], end_after_sec=1.0)
        await stack.wait_for_status(session_id, "completed")
        # Segments an interview elsewhere never finished (a replica gone for good).
        left = SegmentName(3, 0, 0).key(session_id)
        await store.put_bytes(left, bytes(BLOCK_ALIGN * 480))

        path = f"/s2s/v1/sessions/{session_id}/artifacts"
        signer = Signer.of([stack.gateway_settings.s2s_secret], Direction.TO_GATEWAY)
        response = await stack.http.delete(
            stack.gateway_url + path, headers=signer.headers("DELETE", path, b"")
        )
        assert response.status_code == 200, response.text
        assert {(item["artifact"], item["store"]) for item in response.json()["deleted"]} == {
            ("recording", "s3"),
            ("transcript", "s3"),
            ("segments", "s3"),
        }
        assert await store.list(f"sessions/{session_id}/") == []


async def test_the_local_directory_takes_the_same_segments_when_asked(tmp_path: Path) -> None:
    env = {"ZENHIRE_RECORDING_SEGMENT_SEC": "1"}
    async with running_stack(tmp_path, gateway_env=env) as stack:
        session_id, candidate = await stack.open_candidate(Candidate)
        await candidate.interview([], end_after_sec=3.0)
        session = await stack.wait_for_status(session_id, "completed")
        left, _, rate = stereo_channels(await _recording(stack, session_id))
        assert abs(len(left) / rate - session["duration_sec"]) <= 1.0
        folder = stack.gateway_settings.artifacts_dir / "sessions" / session_id
        assert {path.name for path in folder.iterdir()} == {"recording.wav", "transcript.json"}

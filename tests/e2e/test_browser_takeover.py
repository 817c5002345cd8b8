"""In Chromium over WebRTC, an interview whose replica is SIGKILLed goes on on another.

Two gateway replicas (real processes) share a real redis-server and a real
S3 endpoint (moto), behind one loopback port (`zenhire.loopback.balancer`,
an L4 balancer that sends each connection to the first replica alive, as a
health-checked balancer does). Headless Chromium with a fake microphone
opens the link on that port and holds the interview over WebRTC on replica
A. A is SIGKILLed; the page's own reconnect reaches B through the same
port, B takes the interview over from A's checkpoint, the candidate hears
the interviewer's apology, and the interview completes once. The recording
is one timeline: A's part, the outage, B's part. Screenshots land in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from audio.frames import FRAME_SAMPLES, SAMPLE_BYTES, SAMPLE_RATE
from gateway.s2s.artifacts import recording_key
from gateway.s2s.s3 import S3ArtifactStore
from gateway.session.segments import StoredSegment, segments_prefix, stored_segments
from gateway.settings import Settings
from tests.audio_checks import Samples, rms, stereo_channels
from tests.browser import Screenshots, chromium, wait_for_phase, watch_console, write_mic_file
from tests.state.test_takeover import replicas, terminal_events, until
from zenhire.loopback.balancer import balancer
from zenhire.loopback.redis import flush, redis_server
from zenhire.loopback.s3 import s3_environment, s3_server
from zenhire.loopback.servers import free_port
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import loopback_url
from zenhire.tasks import TaskGroup

pytestmark = pytest.mark.timeout(90)

SPOKEN = "I built a payment service in Python."
PAUSE_SEC = 2
SEGMENT_SEC = 1
# A replica's death loses what it had not shipped yet: the segment it was
# filling and, on a loaded machine, the one still on its way to the store.
LOST_TAIL_SEC = 2 * SEGMENT_SEC
# What the candidate heard of the interviewer on B at least: the interviewer
# channel holds only what was played out to the page, and the looping
# microphone barges in on the apology and what follows (each item plays its
# first 300 ms whatever the candidate says: ZENHIRE_LOCAL_ECHO_WARMUP_MS).
HEARD_AGAIN_SEC = 0.5
VOICE_RMS = 200
# A channel carries sound in a window whose RMS passes this.
SOUND_RMS = 100


@pytest.fixture
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        flush(url)
        yield url


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    with s3_server() as url:
        yield url


class SegmentWatch:
    """Every live segment seen in the store, before the assembly removes them."""

    def __init__(self, store: S3ArtifactStore, session_id: str) -> None:
        self._store = store
        self._prefix = segments_prefix(session_id)
        self.seen: dict[str, StoredSegment] = {}

    async def run(self) -> None:
        while True:
            for segment in stored_segments(await self._store.list(self._prefix)):
                self.seen[segment.key] = segment
            await asyncio.sleep(0.2)

    def epochs(self) -> list[int]:
        return sorted({segment.name.epoch for segment in self.seen.values()})

    def of(self, epoch: int) -> list[StoredSegment]:
        return sorted(
            (s for s in self.seen.values() if s.name.epoch == epoch), key=lambda s: s.name
        )


@pytest.mark.fault(
    "owner SIGKILLed under Chromium over WebRTC",
    injected="SIGKILL of the replica whose WebRTC peer carries a browser's interview",
    happened="the page reconnects through the same URL to another replica, which takes the "
    "interview over; the candidate hears the interviewer again; completed once; one recording "
    "with a gap no longer than the outage",
    lost="the outage, and what the killed replica had not shipped (at most two 1 s segments)",
)
async def test_chromium_over_webrtc_carries_on_after_its_replica_is_killed(
    tmp_path: Path, redis: str, s3_endpoint: str
) -> None:
    loop = synthesize(SPOKEN) + bytes(PAUSE_SEC * SAMPLE_RATE * SAMPLE_BYTES)
    mic = write_mic_file(tmp_path / "mic.wav", loop)
    s3_env = {
        **s3_environment(s3_endpoint, ZENHIRE_S3_PREFIX="browser-takeover"),
        "ZENHIRE_RECORDING_SEGMENT_SEC": str(SEGMENT_SEC),
    }
    settings = Settings.from_env(s3_env)
    assert settings.s3 is not None
    store = S3ArtifactStore(settings.s3)
    public_port = free_port()
    public_url = loopback_url(public_port)
    behind = {"ZENHIRE_GATEWAY_PUBLIC_URL": public_url, "ZENHIRE_ALLOWED_ORIGINS": public_url}
    async with replicas(tmp_path, redis, env={**s3_env, **behind}) as (stack, (a, b)):
        async with balancer([a.port, b.port], public_port), chromium(mic) as browser:
            session_id, token = await stack.create_session()
            watch = SegmentWatch(store, session_id)
            page = await browser.new_page()
            problems = watch_console(page)
            shots = Screenshots(page, "webrtc-takeover")
            async with TaskGroup() as group:
                watcher = group.create_task(watch.run())
                await page.goto(f"{public_url}/#t={token}")  # a candidate link: no query
                await wait_for_phase(page, "ready")
                await page.get_by_test_id("start-button").click()
                await wait_for_phase(page, "live")
                assert await page.evaluate("document.body.dataset.transport") == "webrtc"
                captions = page.get_by_test_id("captions")
                await captions.locator(".caption-interviewer").first.wait_for(timeout=20_000)
                # The interviewer speaking (it waits for a pause in the looping microphone
                # first), then some seconds of that shipped by A.
                await page.wait_for_function(
                    "() => document.getElementById('state').dataset.state === 'speaking'",
                    timeout=20_000,
                )
                shipped = len(watch.seen)
                await until(lambda: len(watch.seen) >= shipped + 3)
                await shots.take("live-on-a")

                killed_at = time.monotonic()
                a.kill()
                await wait_for_phase(page, "reconnecting", timeout_ms=15_000)
                await wait_for_phase(page, "live", timeout_ms=20_000)
                outage_sec = time.monotonic() - killed_at
                assert await page.evaluate("document.body.dataset.transport") == "webrtc"
                apology = captions.get_by_text("lost the connection", exact=False)
                await apology.first.wait_for(timeout=20_000)
                await until(lambda: len(watch.epochs()) >= 2)
                await shots.take("taken-over-on-b")
                # The interviewer goes on on B: the next line follows the apology (the
                # closing, once the microphone's loop has answered: the interview may end).
                said = await captions.locator(".caption-interviewer").count()
                await page.wait_for_function(
                    "n => document.querySelectorAll('#captions .caption-interviewer').length > n"
                    " || document.body.dataset.phase === 'ended'",
                    arg=said,
                    timeout=30_000,
                )
                if await page.evaluate("document.body.dataset.phase") != "ended":
                    await page.get_by_test_id("end-button").click()
                    await page.get_by_test_id("end-confirm").click()
                await wait_for_phase(page, "ended")
                assert await page.evaluate("document.body.dataset.endReason") == "completed"
                session = await stack.wait_for_status(session_id, "completed")
                watcher.cancel()
        await asyncio.sleep(1.0)  # a second report would come within the outbox's retry
        assert terminal_events(stack, session_id) == ["session.completed"]
    assert problems == []

    first_epoch, second_epoch = watch.epochs()
    shipped_by_a = watch.of(first_epoch)[-1].end
    taken_over_at = watch.of(second_epoch)[0].name.start
    gap_sec = (taken_over_at - shipped_by_a) / SAMPLE_RATE
    assert 0 <= gap_sec <= outage_sec + LOST_TAIL_SEC, (gap_sec, outage_sec)

    key = recording_key(session_id)
    wav = b"".join([chunk async for chunk in store.read(key, 0, await store.size(key) - 1)])
    left, right, rate = stereo_channels(wav)
    assert rate == SAMPLE_RATE
    # The whole interview, A's part and B's, on one timeline.
    assert abs(len(left) / rate - session["duration_sec"]) <= 1.5
    before, after = slice(0, shipped_by_a), slice(taken_over_at, len(left))
    assert rms(left[before]) > VOICE_RMS, "the microphone reached A"
    assert rms(left[after]) > VOICE_RMS, "the microphone reached B"
    assert rms(right[before]) > SOUND_RMS, "the candidate heard A's interviewer"
    assert _voiced_sec(right[after]) >= HEARD_AGAIN_SEC, "the candidate heard B's interviewer"
    outage = slice(shipped_by_a, taken_over_at)
    assert not np.any(left[outage]) and not np.any(right[outage]), "the outage is silence"


def _voiced_sec(samples: Samples) -> float:
    """How long ``samples`` carry sound, counted in 20 ms windows."""
    windows = len(samples) // FRAME_SAMPLES
    frames = np.asarray(samples[: windows * FRAME_SAMPLES], dtype=np.float64)
    loudness = np.sqrt(np.mean(frames.reshape(windows, FRAME_SAMPLES) ** 2, axis=1))
    return float(np.count_nonzero(loudness > SOUND_RMS)) * FRAME_SAMPLES / SAMPLE_RATE

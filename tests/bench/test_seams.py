"""The seams the performance work put in: the shared clock, relay on arrival, the
paced speaker, the recording inbox, Opus at the internal rate, WebRTC coded inline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc.rtp import RtpPacket

from audio.frames import FRAME_BYTES, SILENCE
from audio.opus import SpeechDecoder, SpeechEncoder
from gateway.interviewer import Conversation, Outcome, Persona
from gateway.session.clock import Clock
from gateway.session.events import CandidateEvent
from gateway.session.identity import SessionIdentity
from gateway.session.inbox import CATCH_UP_TICKS, MAX_FRAMES, CandidateInbox
from gateway.session.live import Limits, LiveSession
from gateway.session.recording import Recording
from gateway.transports.rtcaudio import RTP_TICKS_PER_FRAME, InOrder, InterviewerTrack
from zenhire.tasks import TaskGroup

RATE = 24_000


def tone(frames: int, hz: float = 440.0, level: float = 8000.0) -> bytes:
    t = np.arange(frames * FRAME_BYTES // 2) / RATE
    return (np.sin(2 * np.pi * hz * t) * level).astype("<i2").tobytes()


def loud(level: float) -> bytes:
    return tone(1, level=level)


# -- the shared clock ----------------------------------------------------------------------


async def test_one_clock_ticks_every_session_from_one_timer() -> None:
    clock = Clock()
    counts = [0, 0]

    def first() -> None:
        counts[0] += 1

    def second() -> None:
        counts[1] += 1

    async with TaskGroup() as group:
        tasks = [group.create_task(clock.ticking(first)), group.create_task(clock.ticking(second))]
        await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()

    assert 8 <= counts[0] <= 12
    assert abs(counts[0] - counts[1]) <= 1


def stall() -> None:
    """Block the event loop for 200 ms, as a long synchronous step would."""
    time.sleep(0.2)


@pytest.mark.fault(
    "event loop stall",
    injected="the 20 ms clock blocked for several ticks",
    happened="it catches up on the missed ticks",
)
async def test_the_clock_catches_up_on_ticks_missed_in_a_stall() -> None:
    clock = Clock()
    count = [0]

    def tick() -> None:
        count[0] += 1

    ticking = asyncio.create_task(clock.ticking(tick))
    await asyncio.sleep(0.05)
    stall()
    await asyncio.sleep(0.05)
    ticking.cancel()

    assert count[0] >= 14


@pytest.mark.fault(
    "one session's tick raises",
    injected="an exception in one subscriber of the shared clock",
    happened="only that subscription ends",
)
async def test_a_failing_tick_ends_only_its_own_subscription() -> None:
    clock = Clock()
    healthy = [0]

    def broken() -> None:
        raise RuntimeError("boom")

    def fine() -> None:
        healthy[0] += 1

    survivor = asyncio.create_task(clock.ticking(fine))
    with pytest.raises(RuntimeError, match="boom"):
        await clock.ticking(broken)
    before = healthy[0]
    await asyncio.sleep(0.1)
    survivor.cancel()

    assert healthy[0] > before


async def test_a_faster_clock_runs_the_timeline_ahead_of_the_wall() -> None:
    clock = Clock(rate=20.0)
    count = [0]

    def tick() -> None:
        count[0] += 1

    ticking = asyncio.create_task(clock.ticking(tick))
    await asyncio.sleep(0.2)
    ticking.cancel()

    assert count[0] >= 150


# -- the recording inbox -------------------------------------------------------------------


def test_the_inbox_drops_the_quietest_frame_of_a_lasting_backlog() -> None:
    inbox = CandidateInbox()
    for level in (3000, 3000, 10):
        inbox.push(loud(level), 0.0)
    for _ in range(CATCH_UP_TICKS - 1):
        inbox.push(loud(3000), 0.0)
        assert inbox.take() is not None
    assert inbox.dropped == 0

    inbox.push(loud(3000), 0.0)
    inbox.take()

    assert inbox.dropped == 1
    assert len(inbox) == 2


def test_the_inbox_keeps_a_short_backlog_and_drops_nothing() -> None:
    inbox = CandidateInbox()
    inbox.push(loud(3000), 0.0)
    for _ in range(CATCH_UP_TICKS * 3):
        inbox.push(loud(3000), 0.0)
        inbox.take()

    assert inbox.dropped == 0


def test_the_inbox_is_bounded() -> None:
    inbox = CandidateInbox()
    for _ in range(MAX_FRAMES + 3):
        inbox.push(loud(3000), 0.0)

    assert len(inbox) == MAX_FRAMES
    assert inbox.dropped == 3


# -- the live session: relay on arrival, paced speaker -------------------------------------


class Listening:
    async def run(self, conversation: Conversation) -> Outcome:
        await asyncio.Future()
        raise AssertionError("unreachable")


class Ear:
    kind = "test"

    def __init__(self) -> None:
        self.heard: list[tuple[float, bytes]] = []

    def offer_audio(self, frame: bytes) -> None:
        self.heard.append((time.monotonic(), frame))

    def offer_event(self, event: CandidateEvent) -> None:
        pass

    def close(self, code: int, reason: str) -> None:
        pass


async def ended(session: LiveSession, outcome: Outcome) -> None:
    pass


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[LiveSession]:
    identity = SessionIdentity(
        "s", "c", None, Persona("p", "Engineer", "en"), "integrator", None, "websocket", ""
    )
    recording = Recording(tmp_path / "spool", identity.as_meta())
    yield LiveSession(identity, Listening(), recording, Limits(60, 5.0), ended, clock=Clock())
    await recording.close({})


async def test_a_candidate_frame_reaches_the_interviewer_on_arrival(session: LiveSession) -> None:
    frames = session.candidate_audio()
    frame = tone(1)

    session.receive_audio(frame)
    async with asyncio.timeout(0.005):
        handed = await anext(frames)
    await frames.aclose()  # type: ignore[attr-defined]

    assert handed.pcm == frame
    assert handed.t_ms == 0


async def test_interviewer_audio_goes_out_at_once_then_every_20_ms(session: LiveSession) -> None:
    ear = Ear()
    session.attach(ear)

    await session.play(tone(4))
    # "At once" is counted in passes of the event loop, not milliseconds, so a
    # loaded machine cannot fail it: the first frame is out on the next pass,
    # where waiting for the clock's tick would take up to 20 ms.
    for _ in range(2):
        await asyncio.sleep(0)
    assert ear.heard
    await asyncio.sleep(0.1)

    times = [at for at, _ in ear.heard]
    assert len(times) == 4
    # Paced on the 20 ms slots, not sent in a burst (which takes well under 1 ms):
    # no upper bound, which only a stall of the machine would break.
    assert times[-1] - times[0] >= 0.04


# -- Opus at the internal rate, and WebRTC coded inline ------------------------------------


def test_speech_opus_round_trip_keeps_the_signal() -> None:
    encoder, decoder = SpeechEncoder(), SpeechDecoder()
    source = tone(50, hz=300.0)
    frames = [source[i : i + FRAME_BYTES] for i in range(0, len(source), FRAME_BYTES)]

    packets = [encoder.encode(frame) for frame in frames]
    decoded = b"".join(decoder.decode(packet) for packet in packets)

    assert all(len(d) == FRAME_BYTES for d in (decoder.decode(packets[0]),))
    assert 40 < np.mean([len(p) for p in packets]) < 120  # ~32 kbit/s
    original = np.frombuffer(source, dtype="<i2").astype(float)
    echo = np.frombuffer(decoded, dtype="<i2").astype(float)
    # Opus delays its output by a few ms; compare at the best lag.
    lag = int(np.argmax(np.correlate(echo[:4800], original[:2400], mode="valid")))
    aligned = echo[lag : lag + len(original) - 4800]
    assert np.corrcoef(aligned, original[: len(aligned)])[0, 1] > 0.99


def test_a_lost_packet_is_rebuilt_from_the_next_one() -> None:
    encoder, decoder = SpeechEncoder(), SpeechDecoder()
    packets = [encoder.encode(tone(1, hz=300.0)) for _ in range(3)]
    decoder.decode(packets[0])

    assert len(decoder.conceal(packets[2])) == FRAME_BYTES
    assert len(decoder.conceal()) == FRAME_BYTES


async def test_the_inline_track_sends_opus_packets_on_the_rtp_clock() -> None:
    track = InterviewerTrack()
    track.encode_inline(SpeechEncoder())

    packets = [await track.recv() for _ in range(3)]

    assert all(isinstance(p, av.Packet) for p in packets)
    assert [p.pts for p in packets] == [0, RTP_TICKS_PER_FRAME, 2 * RTP_TICKS_PER_FRAME]
    track.stop()


async def test_the_inline_track_sends_an_offered_frame_before_its_slot() -> None:
    track = InterviewerTrack()
    track.encode_inline(SpeechEncoder())
    await track.recv()

    waiting = asyncio.create_task(track.recv())
    await asyncio.sleep(0.002)
    track.offer(tone(1))
    # Before its slot: within a few passes of the event loop, not 18 ms later.
    for _ in range(3):
        await asyncio.sleep(0)
    assert waiting.done()
    packet = waiting.result()

    assert isinstance(packet, av.Packet)
    assert packet.size > 20  # speech, not the few bytes of silence
    track.stop()


async def test_the_inline_track_reuses_its_silence_packet_once_settled() -> None:
    track = InterviewerTrack()
    track.encode_inline(SpeechEncoder())
    track.offer(SILENCE)

    packets = [await track.recv() for _ in range(9)]
    payloads = [bytes(p) for p in packets if isinstance(p, av.Packet)]

    assert len(payloads) == 9
    assert len(set(payloads[-3:])) == 1
    track.stop()


def rtp(sequence: int) -> RtpPacket:
    packet = RtpPacket(payload_type=111, sequence_number=sequence, timestamp=sequence * 960)
    packet._data = b"x"  # type: ignore[attr-defined]
    return packet


def test_in_order_passes_each_packet_at_once_and_drops_late_ones() -> None:
    buffer = InOrder()

    passed = [buffer.add(rtp(n))[1] is not None for n in (65_534, 65_535, 0, 65_535, 1, 1, 3, 2)]

    assert passed == [True, True, True, False, True, False, True, False]

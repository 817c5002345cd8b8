"""A real browser runs the candidate page end to end against real servers.

Headless Chromium with a fake microphone fed from synthesized speech opens
the candidate link, passes the consent gate and the microphone check, holds
the interview, and the stored recording has the speech on the left channel:
over WebRTC (the page's first choice), over WebSocket when the page falls
back by itself because WebRTC's UDP is blocked, and over WebSocket when the
link asks for it (``?transport=websocket``, for testers).
Screenshots of every step land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Browser, Page

from audio.frames import FRAME_SAMPLES, SAMPLE_BYTES, SAMPLE_RATE
from gateway.transports.webrtc import PEER_SILENCE_TIMEOUT_SEC
from tests.audio_checks import Samples, rms, stereo_channels
from tests.browser import Screenshots, chromium, wait_for_phase, watch_console, write_mic_file
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import Stack, running_stack

pytestmark = pytest.mark.timeout(90)

SPOKEN = "My name is Alex. I build payment systems in Python."
PAUSE_SEC = 3
# With this policy Chromium gathers no ICE candidate at all (there is no proxy).
# Debian's Chromium 156 ignores the --force-webrtc-ip-handling-policy spelling.
BLOCK_WEBRTC_UDP = "--webrtc-ip-handling-policy=disable_non_proxied_udp"
# RMS of a channel that carries speech rather than silence or comfort noise.
VOICE_RMS = 200
# Correlation of loudness envelopes above which a channel holds the microphone's
# speech (measured: 0.84-0.93; the interviewer's channel scores about 0.5).
SAME_SPEECH = 0.7


def _mic_loop() -> bytes:
    """What the fake microphone plays, over and over: the sentence, then a pause."""
    return synthesize(SPOKEN) + bytes(PAUSE_SEC * SAMPLE_RATE * SAMPLE_BYTES)


def _mic_file(tmp_path: Path) -> Path:
    return write_mic_file(tmp_path / "mic.wav", _mic_loop())


async def _interview_in_browser(
    stack: Stack, page: Page, shots: Screenshots, token: str, query: str = ""
) -> None:
    await page.goto(f"{stack.gateway_url}/{query}#t={token}")
    await wait_for_phase(page, "consent")
    assert "#t=" not in page.url, "the token must leave the address bar"
    await shots.take("consent")
    await page.get_by_test_id("consent-checkbox").check()
    await page.get_by_test_id("consent-continue").click()
    await wait_for_phase(page, "ready")
    await shots.take("device-check")
    await page.get_by_test_id("start-button").click()
    await wait_for_phase(page, "live")
    captions = page.get_by_test_id("captions")
    await captions.get_by_text("interview", exact=False).first.wait_for(timeout=20_000)
    await _toggle_debug_panel(page)
    await _wait_for_audio_both_ways(page)
    await shots.take("live")
    await _toggle_debug_panel(page)
    # The recording then holds at least one whole turn of the microphone's loop.
    await asyncio.sleep(len(_mic_loop()) / SAMPLE_BYTES / SAMPLE_RATE)
    await page.get_by_test_id("end-button").click()
    await shots.take("end-confirm", full_page=False)
    await page.get_by_test_id("end-confirm").click()
    await wait_for_phase(page, "ended")
    # Over: the link's token leaves the tab's storage too.
    assert await page.evaluate("sessionStorage.getItem('zenhire.candidate.token')") is None
    await _toggle_debug_panel(page)
    await shots.take("ended")


async def _toggle_debug_panel(page: Page) -> None:
    """Open or close "Connection details" (for testers; open, it is in the screenshots)."""
    await page.get_by_test_id("debug").locator("summary").click()


async def _wait_for_audio_both_ways(page: Page) -> None:
    """The open debug panel counts frames (RTP packets on WebRTC) both ways."""
    await page.wait_for_function(
        "ids => ids.every(id => Number(document.getElementById(id).textContent) > 0)",
        arg=["dbg-sent", "dbg-received"],
        timeout=5_000,
    )


async def _run_interview(
    stack: Stack, browser: Browser, screenshots: str, query: str = ""
) -> tuple[Page, list[str]]:
    """Hold an interview in a new page; return the page and its console errors."""
    session_id, token = await stack.create_session(consent_mode="explicit")
    page = await browser.new_page()
    problems = watch_console(page)
    await _interview_in_browser(stack, page, Screenshots(page, screenshots), token, query)
    assert await page.evaluate("document.body.dataset.endReason") == "completed"

    await stack.wait_for_status(session_id, "completed")
    recording = await stack.http.get(
        f"{stack.api}/sessions/{session_id}/recording", headers=stack.headers
    )
    left, right, _ = stereo_channels(recording.content)
    assert rms(left) > VOICE_RMS, "the microphone's speech is on the candidate channel"
    assert rms(right) > VOICE_RMS, "the interviewer's voice is on the right channel"
    loop = np.frombuffer(_mic_loop(), dtype="<i2").astype(np.float64)
    similarity = _loop_similarity(loop, left)
    assert similarity > SAME_SPEECH, "the candidate channel holds the microphone's sentence"
    return page, problems


async def _start_live(
    stack: Stack, browser: Browser, screenshots: str
) -> tuple[str, Page, list[str], Screenshots]:
    """A new session opened in a new page, started and live."""
    session_id, token = await stack.create_session()
    page = await browser.new_page()
    problems = watch_console(page)
    shots = Screenshots(page, screenshots)
    await page.goto(f"{stack.gateway_url}/#t={token}")
    await wait_for_phase(page, "ready")
    await page.get_by_test_id("start-button").click()
    await wait_for_phase(page, "live")
    return session_id, page, problems, shots


async def _end_over_webrtc(
    stack: Stack, session_id: str, page: Page, shots: Screenshots, shot: str
) -> None:
    """Audio flows both ways over WebRTC again; the candidate ends; the session completes."""
    await _wait_for_audio_both_ways(page)
    assert await _transport(page) == ("webrtc", None, "webrtc")
    await shots.take(shot)
    await page.get_by_test_id("end-button").click()
    await page.get_by_test_id("end-confirm").click()
    await wait_for_phase(page, "ended")
    assert await page.evaluate("document.body.dataset.endReason") == "completed"
    await stack.wait_for_status(session_id, "completed")


def _envelope(samples: Samples) -> Samples:
    """Loudness (RMS) per 20 ms frame."""
    frames = samples[: len(samples) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    loudness: Samples = np.sqrt(np.mean(frames**2, axis=1))
    return loudness


def _loop_similarity(loop: Samples, recorded: Samples) -> float:
    """How well ``recorded`` matches the looping ``loop``, at its best stretch.

    The correlation of loudness envelopes: codecs, noise suppression and gain
    control keep the rhythm of syllables and pauses, not the waveform. The
    recording starts somewhere in the loop, so each loop-length stretch of it
    (every half loop) is compared with every rotation of the loop; the first
    stretch alone can be spoiled by the microphone's start-up on a busy machine.
    """
    pattern, heard = _envelope(loop), _envelope(recorded)
    assert len(heard) >= len(pattern), "the recording is shorter than one turn of the loop"
    rotations = [np.roll(pattern, shift) for shift in range(len(pattern))]
    rotations = [(turn - turn.mean()) / turn.std() for turn in rotations]
    best = -1.0
    for start in range(0, len(heard) - len(pattern) + 1, len(pattern) // 2):
        stretch = heard[start : start + len(pattern)]
        if stretch.std() == 0:
            continue
        stretch = (stretch - stretch.mean()) / stretch.std()
        best = max(best, *(float(np.mean(stretch * turn)) for turn in rotations))
    return best


async def _transport(page: Page) -> tuple[str, str | None, str]:
    """The transport the page used, its fallback reason, and the (open) debug panel's line."""
    kind = await page.evaluate("document.body.dataset.transport")
    fallback = await page.evaluate("document.body.dataset.transportFallback ?? null")
    shown = await page.locator("#dbg-transport").inner_text()
    return kind, fallback, shown


async def test_browser_interview_over_webrtc(tmp_path: Path) -> None:
    """By default the page holds the interview over WebRTC, without falling back."""
    async with running_stack(tmp_path) as stack, chromium(_mic_file(tmp_path)) as browser:
        page, problems = await _run_interview(stack, browser, "webrtc")
        assert await _transport(page) == ("webrtc", None, "webrtc")
        assert problems == []


async def test_browser_reload_resumes_the_interview_over_webrtc(tmp_path: Path) -> None:
    """A reload mid-interview rejoins the same session on a new peer connection."""
    async with running_stack(tmp_path) as stack, chromium(_mic_file(tmp_path)) as browser:
        session_id, page, problems, shots = await _start_live(stack, browser, "webrtc-reload")
        await page.get_by_test_id("captions").get_by_text("interview", exact=False).first.wait_for()

        await page.reload()
        await wait_for_phase(page, "ready")
        assert await page.get_by_test_id("start-button").inner_text() == "Rejoin interview"
        await shots.take("rejoin")
        await page.get_by_test_id("start-button").click()
        await wait_for_phase(page, "live")
        await _toggle_debug_panel(page)
        await _end_over_webrtc(stack, session_id, page, shots, "resumed")
        assert problems == []


@pytest.mark.fault(
    "browser frozen",
    injected="Chromium page frozen past the ping timeout",
    happened="the page renegotiates and the interview continues",
    lost="the frozen stretch",
)
async def test_browser_reconnects_a_dead_peer_over_webrtc(tmp_path: Path) -> None:
    """A page frozen past the gateway's ping timeout renegotiates and continues the session."""
    async with running_stack(tmp_path) as stack, chromium(_mic_file(tmp_path)) as browser:
        session_id, page, problems, shots = await _start_live(stack, browser, "webrtc-reconnect")
        await _toggle_debug_panel(page)

        # Paused in the debugger the page runs no script (while the browser's
        # network stack goes on): no pings, so the gateway drops the peer.
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("Debugger.enable")
        await cdp.send("Debugger.pause")
        await asyncio.sleep(PEER_SILENCE_TIMEOUT_SEC + 1)
        await cdp.send("Debugger.resume")
        await wait_for_phase(page, "reconnecting", timeout_ms=3_000)
        await shots.take("reconnecting")
        await wait_for_phase(page, "live")
        # The open panel redraws twice a second.
        await page.wait_for_function(
            "() => document.getElementById('dbg-reconnects').textContent === '1'", timeout=2_000
        )
        assert (await stack.session(session_id))["status"] == "active"
        await _end_over_webrtc(stack, session_id, page, shots, "reconnected")
        assert problems == []


async def test_browser_falls_back_to_websocket_when_udp_is_blocked(tmp_path: Path) -> None:
    """With WebRTC's UDP blocked the page moves to WebSocket by itself and says why."""
    mic = _mic_file(tmp_path)
    async with running_stack(tmp_path) as stack, chromium(mic, (BLOCK_WEBRTC_UDP,)) as browser:
        page, problems = await _run_interview(stack, browser, "websocket-fallback")
        kind, fallback, shown = await _transport(page)
        assert kind == "websocket"
        assert fallback
        assert shown == f"websocket (fallback: {fallback})"
        assert problems == []


async def test_browser_interview_over_websocket_on_request(tmp_path: Path) -> None:
    """``?transport=websocket`` skips WebRTC altogether."""
    async with running_stack(tmp_path) as stack, chromium(_mic_file(tmp_path)) as browser:
        page, problems = await _run_interview(
            stack, browser, "websocket", query="?transport=websocket"
        )
        assert await _transport(page) == ("websocket", None, "websocket (forced by ?transport=)")
        assert problems == []


@pytest.mark.parametrize(
    ("language", "takes", "extra"),
    [
        ("en", "The interview takes up to 45 minutes.", "You have 50% extra time"),
        ("de", "Das Interview dauert höchstens 45 Minuten.", "Sie haben 50 % mehr Zeit"),
    ],
)
async def test_the_page_tells_a_candidate_with_extra_time_how_long_they_have(
    tmp_path: Path, language: str, takes: str, extra: str
) -> None:
    """30 minutes with 50 % extra time: the device check says 45, in the interview's language."""
    async with running_stack(tmp_path, max_duration_sec=1800) as stack, chromium() as browser:
        _, token = await stack.create_session(language=language, extra_time_pct=50)
        page = await browser.new_page()
        problems = watch_console(page)
        await page.goto(f"{stack.gateway_url}/#t={token}")
        await wait_for_phase(page, "ready")
        assert await page.get_by_test_id("duration").inner_text() == takes
        note = page.get_by_test_id("extra-time")
        assert await note.is_visible()
        assert (await note.inner_text()).startswith(extra)
        assert await note.get_attribute("lang") == language
        await Screenshots(page, f"extra-time-{language}").take("device-check")
        assert problems == []

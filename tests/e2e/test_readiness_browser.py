"""The readiness check, the caption history and the rating, in a real browser.

Headless Chromium with a fake microphone runs the candidate page against real
servers: the readiness check measures echo (and, with the speakers' output
mixed into the microphone as loud speakers would, recommends headphones),
picks WebSocket up front in a browser without WebRTC, can be skipped, and
says which browser feature is missing; a reload shows the captions so far;
the end screen's rating reaches the control plane. Screenshots of every new
screen land in test-artifacts/screenshots/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE
from tests.browser import Screenshots, chromium, wait_for_phase, watch_console, write_mic_file
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import Stack, running_stack

pytestmark = pytest.mark.timeout(90)

# What loud speakers do: everything the page plays reaches the microphone, here
# by mixing each context's output into the stream getUserMedia returns (Chromium's
# echo canceller never sees it, as when the acoustic echo is too strong for it).
SPEAKERS_INTO_MICROPHONE = """
(() => {
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  const mixer = new AudioContext({ sampleRate: 48000 });
  const bus = mixer.createGain();
  const out = mixer.createMediaStreamDestination();
  bus.connect(out);
  const connect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (target, ...rest) {
    const result = connect.call(this, target, ...rest);
    if (target instanceof AudioDestinationNode && target.context !== mixer) {
      const context = target.context;
      if (!context.speakersTap) {
        context.speakersTap = context.createMediaStreamDestination();
        connect.call(mixer.createMediaStreamSource(context.speakersTap.stream), bus);
      }
      connect.call(this, context.speakersTap);
    }
    return result;
  };
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const real = await gum(constraints);
    connect.call(mixer.createMediaStreamSource(real), bus);
    await mixer.resume();
    return out.stream;
  };
})();
"""
NO_WEBRTC = "delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;"
NO_AUDIO_WORKLET = "delete window.AudioWorkletNode;"
# With this policy Chromium gathers no ICE candidate (there is no proxy), as on a
# network that blocks UDP.
BLOCK_WEBRTC_UDP = "--webrtc-ip-handling-policy=disable_non_proxied_udp"


def _mic_file(tmp_path: Path) -> Path:
    speech = synthesize("My name is Alex. I build payment systems in Python.")
    return write_mic_file(tmp_path / "mic.wav", speech + bytes(2 * SAMPLE_RATE * SAMPLE_BYTES))


async def _open(
    stack: Stack, browser: Browser, script: str = "", language: str = "en"
) -> tuple[str, Page, list[str]]:
    session_id, token = await stack.create_session(consent_mode="integrator", language=language)
    page = await browser.new_page()
    if script:
        await page.add_init_script(script)
    problems = watch_console(page)
    await page.goto(f"{stack.gateway_url}/#t={token}")
    return session_id, page, problems


async def _wait_for(page: Page, expression: str, timeout_ms: float = 15_000) -> None:
    # A function, not a bare expression: the page's CSP forbids evaluating strings.
    await page.wait_for_function(f"() => {expression}", timeout=timeout_ms)


async def _end(page: Page) -> None:
    await page.get_by_test_id("end-button").click()
    await page.get_by_test_id("end-confirm").click()
    await wait_for_phase(page, "ended")


async def _transcript(stack: Stack, session_id: str) -> dict[str, Any]:
    await stack.wait_for_status(session_id, "completed")
    response = await stack.http.get(
        f"{stack.api}/sessions/{session_id}/transcript", headers=stack.headers
    )
    return dict(response.json())


async def test_readiness_check_measures_and_is_recorded(tmp_path: Path) -> None:
    """Browser and network pass, the echo test finds little echo; the transcript says so.

    A quiet room: the looped speech of the other tests would make the measure depend on
    where in the loop the tones fall (speech under the tones reads as echo)."""
    quiet = write_mic_file(tmp_path / "quiet.wav", bytes(4 * SAMPLE_RATE * SAMPLE_BYTES))
    async with running_stack(tmp_path) as stack, chromium(quiet) as browser:
        session_id, page, problems = await _open(stack, browser)
        shots = Screenshots(page, "readiness")
        await wait_for_phase(page, "ready")
        await _wait_for(page, "document.body.dataset.networkTransport === 'webrtc'")
        assert await page.get_by_test_id("check-browser").get_attribute("data-status") == "ok"
        await shots.take("network-checked")
        await page.get_by_test_id("echo-test").focus()
        await page.keyboard.press("Enter")
        await _wait_for(page, "document.body.dataset.readiness === 'done'")
        assert await page.evaluate("document.body.dataset.echo") == "low"
        assert not await page.get_by_test_id("headphones").is_visible()
        live = page.get_by_test_id("readiness-live")
        assert await live.get_attribute("aria-live") == "polite"
        await _wait_for(page, "document.getElementById('readiness-live').textContent !== ''")
        await shots.take("echo-low")
        await page.get_by_test_id("start-button").click()
        await wait_for_phase(page, "live")
        await _end(page)
        readiness = (await _transcript(stack, session_id))["readiness"]
        assert readiness["skipped"] is False
        assert readiness["echo"]["status"] == "passed"
        assert readiness["echo_path"] == "low"
        assert readiness["network"]["transport"] == "webrtc"
        assert readiness["network"]["candidates"]["host"] > 0
        assert readiness["network"]["rtt_ms"] is not None
        assert problems == []


@pytest.mark.parametrize("language", ["en", "de"])
async def test_strong_echo_recommends_headphones(tmp_path: Path, language: str) -> None:
    """Speakers loud enough to reach the microphone: headphones are recommended, translated."""
    async with running_stack(tmp_path) as stack, chromium(_mic_file(tmp_path)) as browser:
        _, page, problems = await _open(stack, browser, SPEAKERS_INTO_MICROPHONE, language)
        shots = Screenshots(page, f"readiness-headphones-{language}")
        await wait_for_phase(page, "ready")
        await _wait_for(page, "document.body.dataset.networkTransport !== undefined")
        await page.get_by_test_id("echo-test").click()
        await _wait_for(page, "document.body.dataset.echo !== undefined")
        assert await page.evaluate("document.body.dataset.echo") == "strong"
        advice = page.get_by_test_id("headphones")
        assert await advice.is_visible()
        assert await advice.get_attribute("role") == "alert"
        assert await page.get_by_test_id("readiness").get_attribute("lang") == language
        title = {"en": "Please use headphones", "de": "Bitte verwenden Sie Kopfhörer"}[language]
        assert title in await advice.inner_text()
        await shots.take("headphones")
        assert problems == []


async def test_without_webrtc_the_browser_check_says_so(tmp_path: Path) -> None:
    """A browser without RTCPeerConnection: a specific note, and the WebSocket path."""
    async with running_stack(tmp_path) as stack, chromium(_mic_file(tmp_path)) as browser:
        _, page, problems = await _open(stack, browser, NO_WEBRTC)
        await wait_for_phase(page, "ready")
        await _wait_for(page, "document.body.dataset.networkTransport === 'websocket'")
        assert await page.evaluate("document.body.dataset.browserMissing") == "webrtc"
        browser_row = page.get_by_test_id("check-browser")
        assert await browser_row.get_attribute("data-status") == "warn"
        assert "WebRTC" in await page.get_by_test_id("check-browser-text").inner_text()
        await Screenshots(page, "readiness-no-webrtc").take("browser-note")
        assert problems == []


async def test_blocked_udp_picks_websocket_before_the_start_and_the_check_skips(
    tmp_path: Path,
) -> None:
    """No ICE candidate on this network: WebSocket is chosen before the start (not after a
    failed attempt); skipping moves focus to Start and the transcript records the skip."""
    async with (
        running_stack(tmp_path) as stack,
        chromium(_mic_file(tmp_path), extra_args=(BLOCK_WEBRTC_UDP,)) as browser,
    ):
        session_id, page, problems = await _open(stack, browser)
        shots = Screenshots(page, "readiness-blocked-udp")
        await wait_for_phase(page, "ready")
        await _wait_for(page, "document.body.dataset.networkTransport === 'websocket'")
        assert await page.evaluate("document.body.dataset.transport") == "websocket"
        await shots.take("websocket-chosen")
        await page.get_by_test_id("readiness-skip").click()
        assert await page.evaluate("document.activeElement.id") == "start-button"
        assert await page.get_by_test_id("readiness-skipped").is_visible()
        await shots.take("skipped")
        await page.keyboard.press("Enter")
        await wait_for_phase(page, "live")
        assert await page.evaluate("document.body.dataset.transport") == "websocket"
        fallback = await page.evaluate("document.body.dataset.transportFallback")
        assert fallback == "readiness check: no ICE candidates gathered"
        await _end(page)
        readiness = (await _transcript(stack, session_id))["readiness"]
        assert readiness["skipped"] is True
        assert readiness["network"]["transport"] == "websocket", "checked before the skip"
        assert readiness["network"]["candidates"] == {"host": 0, "srflx": 0, "relay": 0}
        assert readiness["echo"]["status"] == "skipped"
        assert problems == []


async def test_a_browser_without_audio_worklet_is_told_what_is_missing(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, chromium() as browser:
        _, page, _ = await _open(stack, browser, NO_AUDIO_WORKLET)
        await _wait_for(page, "document.body.dataset.endReason === 'BROWSER_UNSUPPORTED'")
        assert await page.evaluate("document.body.dataset.browserMissing") == "audio_worklet"
        title = await page.get_by_test_id("status-title").inner_text()
        assert title == "This browser can't run the interview"
        assert "AudioWorklet" in await page.get_by_test_id("status-text").inner_text()
        await Screenshots(page, "readiness-no-audio-worklet").take("unsupported")


async def test_a_reload_shows_the_captions_so_far(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, chromium(_mic_file(tmp_path)) as browser:
        _, page, problems = await _open(stack, browser)
        shots = Screenshots(page, "caption-history")
        await wait_for_phase(page, "ready")
        await page.get_by_test_id("start-button").click()
        await wait_for_phase(page, "live")
        first = page.locator(".caption-interviewer[data-final='true']").first
        await first.wait_for(timeout=20_000)
        greeting = await first.locator(".caption-text").inner_text()
        await page.reload()
        await wait_for_phase(page, "ready")
        await page.get_by_test_id("start-button").click()
        await wait_for_phase(page, "live")
        restored = page.locator(".caption[data-history='true']").first
        await restored.wait_for(timeout=10_000)
        assert await restored.locator(".caption-text").inner_text() == greeting
        assert not await page.locator("#captions-empty").is_visible()
        await shots.take("captions-after-reload")
        await _end(page)
        assert problems == []


async def test_the_rating_reaches_the_control_plane(tmp_path: Path) -> None:
    env = {"ZENHIRE_RATING_WINDOW_SEC": "30"}
    async with (
        running_stack(tmp_path, gateway_env=env) as stack,
        chromium(_mic_file(tmp_path)) as browser,
    ):
        session_id, page, problems = await _open(stack, browser)
        shots = Screenshots(page, "rating")
        await wait_for_phase(page, "ready")
        await page.get_by_test_id("start-button").click()
        await wait_for_phase(page, "live")
        await _end(page)
        await _wait_for(page, "document.body.dataset.rating === 'open'")
        await page.get_by_test_id("rating-send").click()
        assert await page.get_by_test_id("rating-error").is_visible()
        await shots.take("rating-missing")
        await page.get_by_test_id("rating-4").focus()
        await page.keyboard.press("Space")
        await page.get_by_test_id("rating-comment").fill("Clear questions, friendly pace.")
        await shots.take("rating")
        await page.get_by_test_id("rating-send").click()
        await _wait_for(page, "document.body.dataset.rating === 'sent'")
        assert await page.get_by_test_id("rating-done").is_visible()
        await shots.take("rating-sent")
        session = await stack.wait_for_status(session_id, "completed")
        assert session["candidate_rating"]["score"] == 4
        assert session["candidate_rating"]["comment"] == "Clear questions, friendly pace."
        assert (await _transcript(stack, session_id))["rating"]["score"] == 4
        assert problems == []

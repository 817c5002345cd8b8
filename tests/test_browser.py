"""A real browser runs the candidate page end to end against real servers.

Headless Chromium with a fake microphone fed from synthesized speech opens
the candidate link, passes the consent gate and the microphone check, holds
the interview, and the stored recording has the speech on the left channel.
Screenshots of every step land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import ConsoleMessage, Page

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE
from tests.audio_checks import rms, stereo_channels
from tests.browser import Screenshots, chromium, wait_for_phase, write_mic_file
from tests.speech import synthesize
from tests.stack import Stack, running_stack

pytestmark = pytest.mark.timeout(150)

SPOKEN = "My name is Alex. I build payment systems in Python."
PAUSE_SEC = 3


def _watch_console(page: Page) -> list[str]:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


async def _interview_in_browser(stack: Stack, page: Page, shots: Screenshots, token: str) -> None:
    await page.goto(f"{stack.gateway_url}/#t={token}")
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
    await shots.take("live")
    # Long enough for the fake microphone to play the sentence at least once.
    await asyncio.sleep(len(synthesize(SPOKEN)) / SAMPLE_BYTES / SAMPLE_RATE + PAUSE_SEC)
    await page.get_by_test_id("end-button").click()
    await shots.take("end-confirm")
    await page.get_by_test_id("end-confirm").click()
    await wait_for_phase(page, "ended")
    await shots.take("ended")


async def test_browser_interview_over_websocket(tmp_path: Path) -> None:
    speech = synthesize(SPOKEN)
    mic = write_mic_file(
        tmp_path / "mic.wav", speech + bytes(PAUSE_SEC * SAMPLE_RATE * SAMPLE_BYTES)
    )
    async with running_stack(tmp_path) as stack, chromium(mic) as browser:
        session_id, token = await stack.create_session(consent_mode="explicit")
        page = await browser.new_page()
        problems = _watch_console(page)
        shots = Screenshots(page, "websocket")
        await _interview_in_browser(stack, page, shots, token)
        assert await page.evaluate("document.body.dataset.endReason") == "completed"
        assert problems == []

        await stack.wait_for_status(session_id, "completed")
        recording = await stack.http.get(
            f"{stack.api}/sessions/{session_id}/recording", headers=stack.headers
        )
        left, right, _ = stereo_channels(recording.content)
        assert rms(left) > 200, "the microphone's speech is on the candidate channel"
        assert rms(right) > 200, "the interviewer's voice is on the right channel"

"""In Chromium, a realtime interview whose upstream goes away goes on with the embedded interviewer.

Headless Chromium with a fake microphone (synthesized speech on a loop) holds a
realtime interview against the fake upstream, which drops the connection
during its second response and refuses every reconnect. The page keeps
showing captions after the switch: the apology, then what the embedded
interviewer says and hears next. Screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE
from gateway.interviewer import Persona
from gateway.interviewer.local.plan import QuestionCatalog
from tests.browser import Screenshots, chromium, wait_for_phase, watch_console, write_mic_file
from tests.interviewer.test_realtime import cues, realtime_stack
from zenhire.fake_realtime.script import GREETING
from zenhire.loopback.speech import synthesize

pytestmark = pytest.mark.timeout(120)

PAUSE_SEC = 3


async def test_captions_keep_flowing_after_a_forced_fallback(tmp_path: Path) -> None:
    loop = synthesize("I built a payment service in Python.")
    mic = write_mic_file(tmp_path / "mic.wav", loop + bytes(PAUSE_SEC * SAMPLE_RATE * SAMPLE_BYTES))
    takeover = QuestionCatalog.load().plan(Persona("p", "Engineer", "en"), 1).phrases.takeover
    # The looped microphone may start a reply the gateway then drops (the candidate went
    # on speaking) before it streams far enough to be cut: the next ones are cut too.
    behaviour = cues(questions=3, faults={2: "drop", 3: "drop", 4: "drop"}, refuse_from=2)
    async with (
        realtime_stack(tmp_path, behaviour, 120, ZENHIRE_LOCAL_SHORT_ANSWER_MS="0") as (stack, _),
        chromium(mic) as browser,
    ):
        session_id, token = await stack.create_session()
        page = await browser.new_page()
        problems = watch_console(page)
        shots = Screenshots(page, "fallback")
        await page.goto(f"{stack.gateway_url}/#t={token}")
        await wait_for_phase(page, "ready")
        await page.get_by_test_id("start-button").click()
        await wait_for_phase(page, "live")
        captions = page.get_by_test_id("captions")
        await captions.get_by_text(GREETING, exact=False).first.wait_for(timeout=20_000)
        await captions.get_by_text(takeover).wait_for(timeout=40_000)
        await shots.take("apology")
        # The embedded interviewer goes on: its next caption follows the apology.
        interviewer = captions.locator(".caption-interviewer")
        count = await interviewer.count()
        await page.wait_for_function(
            "n => document.querySelectorAll('#captions .caption-interviewer').length > n",
            arg=count,
            timeout=30_000,
        )
        await shots.take("after-the-switch")
        assert await page.evaluate("document.body.dataset.phase") == "live"
        await page.get_by_test_id("end-button").click()
        await page.get_by_test_id("end-confirm").click()
        await wait_for_phase(page, "ended")
        await stack.wait_for_status(session_id, "completed")
    assert problems == []

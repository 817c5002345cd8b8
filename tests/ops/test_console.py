"""The operator console in headless Chromium, against real servers with live interviews.

Scripted candidates hold interviews while the console shows them; the test
checks the page's numbers against the gateway's own, ends an interview
from the page (the candidate hears ENDED_BY_OPERATOR and the control plane
records the failure), and drains and resumes the replica. Screenshots of
each step land in test-artifacts/screenshots/ops-console/.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets
from playwright.async_api import Page, expect

from tests.browser import Screenshots, chromium, watch_console
from tests.operator import OPERATOR_ENV, OPERATOR_SECRET, end_session, live_ids, wait_overview
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.stack import Stack, running_stack
from zenhire.tasks import TaskGroup

pytestmark = pytest.mark.timeout(120)
TIMEOUT_MS = 10_000
# Let the interviews run a moment, so times and audio levels show something.
SETTLE_SEC = 1.5


def _seconds(clock: str) -> int:
    minutes, seconds = clock.split(":")
    return int(minutes) * 60 + int(seconds)


async def _candidate(stack: Stack) -> tuple[str, Candidate]:
    session_id, candidate = await stack.open_candidate(Candidate)
    return session_id, candidate


async def _sign_in(stack: Stack, page: Page, shots: Screenshots) -> None:
    await page.goto(f"{stack.gateway_url}/ops")
    await page.get_by_test_id("login-key").fill("not-the-key-0123456789")
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("login-error")).to_have_text(
        "That key was not accepted.", timeout=TIMEOUT_MS
    )
    await shots.take("sign-in-refused")
    await page.goto(f"{stack.gateway_url}/ops#key={OPERATOR_SECRET}")
    await expect(page.get_by_test_id("connection")).to_have_text("Live", timeout=TIMEOUT_MS)
    assert "#key" not in page.url, "the key leaves the address bar"


async def test_console_shows_live_interviews_ends_one_and_drains(tmp_path: Path) -> None:
    async with (
        running_stack(
            tmp_path,
            max_concurrent=2,
            gateway_env={**OPERATOR_ENV, "ZENHIRE_WAITING_RETRY_SEC": "0.3"},
        ) as stack,
        chromium() as browser,
    ):
        (first_id, first), (second_id, second), (third_id, third) = [
            await _candidate(stack) for _ in range(3)
        ]
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        problems = watch_console(page)
        shots = Screenshots(page, "ops-console")
        async with TaskGroup() as group:
            group.create_task(first.interview([]))
            group.create_task(second.interview([]))
            await wait_overview(
                stack.http, stack.gateway_url, lambda o: live_ids(o) == {first_id, second_id}
            )
            group.create_task(third.interview([]))
            await wait_overview(stack.http, stack.gateway_url, lambda o: o["totals"]["waiting"])

            await asyncio.sleep(SETTLE_SEC)
            await _sign_in(stack, page, shots)
            await expect(page.get_by_test_id("tile-live")).to_have_text("2", timeout=TIMEOUT_MS)
            await expect(page.get_by_test_id("tile-waiting")).to_have_text("1")
            rows = page.get_by_test_id("session-row")
            await expect(rows).to_have_count(2)
            shown = {await row.get_attribute("data-session-id") for row in await rows.all()}
            assert shown == {first_id, second_id}
            slot = page.get_by_test_id("slot")
            await expect(slot.get_by_test_id("slot-count")).to_have_text("2 / 2 slots")
            await expect(slot.get_by_test_id("slot-waiting")).to_contain_text("1 waiting: #1")
            truth = await wait_overview(stack.http, stack.gateway_url, lambda o: True)
            first_row = page.locator(f'[data-session-id="{first_id}"]')
            elapsed = _seconds(await first_row.get_by_test_id("elapsed").inner_text())
            (true_first,) = [s for s in truth["sessions"] if s["session_id"] == first_id]
            assert abs(elapsed - true_first["elapsed_sec"]) <= 2
            await expect(first_row).to_contain_text(stack.client_id[:8])
            await expect(first_row).to_contain_text("Senior Backend Engineer")
            await expect(first_row).to_contain_text("websocket")
            await shots.take("overview")

            await first_row.get_by_test_id("end-session").click()
            await expect(page.get_by_test_id("confirm-title")).to_have_text("End this interview?")
            await shots.take("end-confirm")
            await page.get_by_test_id("confirm-ok").click()
            await expect(page.get_by_test_id("toast")).to_have_text("Ending the interview…")
            # The freed slot goes to the waiting candidate.
            await expect(page.locator(f'[data-session-id="{third_id}"]')).to_have_count(
                1, timeout=TIMEOUT_MS
            )
            await expect(page.get_by_test_id("tile-waiting")).to_have_text("0")
            recent = page.get_by_test_id("recent-row")
            await expect(recent.first).to_contain_text("ENDED_BY_OPERATOR")
            await shots.take("after-end")

            replica = page.get_by_test_id("replica-row")
            await replica.get_by_test_id("drain-toggle").click()
            await page.get_by_test_id("confirm-ok").click()
            await expect(replica).to_have_attribute("data-draining", "true", timeout=TIMEOUT_MS)
            ready = await stack.http.get(f"{stack.gateway_url}/readyz")
            assert ready.status_code == 503 and ready.json()["draining"] is True
            assert await _refused_while_draining(stack) == "GATEWAY_DRAINING"
            await shots.take("draining")
            await replica.get_by_test_id("drain-toggle").click()
            await page.get_by_test_id("confirm-ok").click()
            await expect(replica).to_have_attribute("data-draining", "false", timeout=TIMEOUT_MS)
            assert (await stack.http.get(f"{stack.gateway_url}/readyz")).status_code == 200

            await page.close()
            for session_id in (second_id, third_id):
                await end_session(stack.http, stack.gateway_url, session_id)

        assert first.kinds("ended")[-1]["reason"] == "ENDED_BY_OPERATOR"
        failed = await stack.wait_for_status(first_id, "failed")
        assert failed["error"]["code"] == "ENDED_BY_OPERATOR"
        assert third.kinds("live"), "the waiting candidate was admitted"
        # The one 401 is the refused sign-in with a wrong key.
        assert [p for p in problems if "401 (Unauthorized)" not in p] == []
        assert len(problems) == 1


async def _refused_while_draining(stack: Stack) -> str:
    _, newcomer = await _candidate(stack)
    async with await newcomer.connect() as socket:
        refusal = json.loads(await socket.recv())
        with pytest.raises(websockets.ConnectionClosedError):
            await socket.recv()
    code: str = refusal["code"]
    return code

"""WebRTC through a real TURN server (Debian's coturn) with minted REST credentials.

coturn runs on loopback with ``use-auth-secret``; the gateway mints time-limited
credentials for the page with each ticket, and for its own aiortc peer with each
offer. Chromium, held to relayed candidates by ``?ice=relay``, holds a whole
interview: its selected ICE pair is a relay one, coturn granted allocations to
both the page and the gateway, and the recording has the candidate's speech.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aioice import stun, turn

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE
from gateway.transports.ice import turn_credential
from tests.audio_checks import rms, stereo_channels
from tests.browser import Screenshots, chromium, wait_for_phase, watch_console, write_mic_file
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import running_stack
from zenhire.loopback.turn import TurnServer, turn_server

pytestmark = pytest.mark.timeout(90)

SECRET = "turn-test-secret-of-32-bytes-or-more"
REPLICA = "gw-turn"
VOICE_RMS = 200
SPOKEN = "I would start by measuring where the time goes."


async def _allocate(server: TurnServer, username: str, password: str) -> None:
    """One TURN allocation over UDP by aioice's client (aiortc's own TURN client)."""
    transport, _ = await turn.create_turn_endpoint(
        asyncio.DatagramProtocol,
        server_addr=(server.host, server.port),
        username=username,
        password=password,
        transport="udp",
    )
    transport.close()


@pytest.mark.attack(
    "expired TURN credential",
    injected="an expired or wrongly signed TURN REST credential at a real coturn",
    happened="401 from coturn",
)
async def test_coturn_accepts_a_minted_credential_and_refuses_an_expired_one(
    tmp_path: Path,
) -> None:
    with turn_server(tmp_path / "turn", SECRET) as server:
        fresh = f"{int(time.time()) + 600}:ses_fresh"
        await _allocate(server, fresh, turn_credential(SECRET, fresh))
        expired = f"{int(time.time()) - 1}:ses_expired"
        with pytest.raises(stun.TransactionFailed, match="401"):
            await _allocate(server, expired, turn_credential(SECRET, expired))
        with pytest.raises(stun.TransactionFailed, match="401"):
            await _allocate(server, fresh, turn_credential("another-secret", fresh))
        assert server.allocated_for() == [fresh]


async def test_a_relay_only_browser_holds_the_interview_through_turn(tmp_path: Path) -> None:
    speech = synthesize(SPOKEN)
    loop = speech + bytes(len(speech))  # the sentence, then as long a pause
    mic = write_mic_file(tmp_path / "mic.wav", loop)
    with turn_server(tmp_path / "turn", SECRET) as server:
        env = {
            "ZENHIRE_TURN_URLS": server.url,
            "ZENHIRE_TURN_SECRET": SECRET,
            "ZENHIRE_REPLICA_ID": REPLICA,
        }
        async with (
            running_stack(tmp_path, gateway_env=env) as stack,
            chromium(mic) as browser,
        ):
            session_id, token = await stack.create_session()
            page = await browser.new_page()
            problems = watch_console(page)
            shots = Screenshots(page, "webrtc-relay")
            await page.goto(f"{stack.gateway_url}/?transport=webrtc&ice=relay#t={token}")
            await wait_for_phase(page, "ready")
            await page.get_by_test_id("start-button").click()
            await wait_for_phase(page, "live")
            await page.get_by_test_id("debug").locator("summary").click()
            # The page's getStats: the selected pair's local candidate is a relayed one.
            await page.wait_for_function(
                "() => document.getElementById('dbg-connection').textContent.includes('relay')",
                timeout=10_000,
            )
            await page.wait_for_function(
                "ids => ids.every(id => Number(document.getElementById(id).textContent) > 0)",
                arg=["dbg-sent", "dbg-received"],
                timeout=10_000,
            )
            await shots.take("live-over-turn")
            # The recording then holds at least one whole turn of the microphone's loop.
            await asyncio.sleep(len(loop) / SAMPLE_BYTES / SAMPLE_RATE)
            await page.get_by_test_id("end-button").click()
            await page.get_by_test_id("end-confirm").click()
            await wait_for_phase(page, "ended")
            await stack.wait_for_status(session_id, "completed")
            assert await page.evaluate("document.body.dataset.transport") == "webrtc"
            recording = await stack.http.get(
                f"{stack.api}/sessions/{session_id}/recording", headers=stack.headers
            )
            left, right, _ = stereo_channels(recording.content)
            assert rms(left) > VOICE_RMS, "the candidate's speech came through the relay"
            assert rms(right) > VOICE_RMS
            assert problems == []
        holders = {username.partition(":")[2] for username in server.allocated_for()}
        assert session_id in holders, "the page allocated with its ticket's credentials"
        assert REPLICA in holders, "the gateway's own peer allocated a relay too"

"""WebRTC across gateway replicas (real processes on one real redis-server), with
real aiortc peers: an offer on a non-owner is answered by the owner."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.operator import live_ids, wait_overview
from tests.state.test_takeover import one_completed, replicas, until
from zenhire.loopback.speech import synthesize
from zenhire.loopback.webrtc_candidate import WebRTCCandidate

pytestmark = pytest.mark.timeout(60)

ANSWER = "I have built payment systems in Python for six years."
# The owner's first checkpoint (FAST_OWNERSHIP_ENV saves one every 0.5 s) tells
# the other replica the ticket's session.
CHECKPOINTED_SEC = 1.0


def _candidate_captions(candidate: WebRTCCandidate) -> list[dict[str, Any]]:
    return [c for c in candidate.kinds("caption") if c["speaker"] == "candidate"]


@pytest.mark.fault(
    "WebRTC offer on a non-owner",
    injected="a reload's WebRTC offer reaching a replica that does not run the interview",
    happened="forwarded; the owner answers and its peer carries the media; one live copy, "
    "reported once",
)
async def test_a_webrtc_offer_on_a_non_owner_is_answered_by_the_owner(
    tmp_path: Path, redis: str
) -> None:
    """The reload's offer lands on the other replica: the owner's peer serves it."""
    async with replicas(tmp_path, redis) as (stack, (owner, other)):
        session_id, token = await stack.create_session()
        first = WebRTCCandidate(owner.url)
        await first.open(stack.http, token)
        async with first.connected(stack.http):
            await first.wait_for("live")
            await asyncio.sleep(CHECKPOINTED_SEC)
            reload = WebRTCCandidate(other.url, ticket=first.ticket)
            reload.answers.append(synthesize(ANSWER))
            async with reload.connected(stack.http):
                live = await reload.wait_for("live")
                assert live["resumed"] is True
                assert (await first.wait_for("error"))["code"] == "SUPERSEDED"
                # One copy, on the owner, carried by the reload's (WebRTC) peer.
                seen = await wait_overview(
                    stack.http,
                    other.url,
                    lambda o: (
                        [s.get("transport") for s in o["sessions"]] == ["webrtc"]
                        and session_id in live_ids(o)
                    ),
                )
                assert [s["replica_id"] for s in seen["sessions"]] == [owner.replica_id]
                # Media both ways: the reload heard the interviewer and answered, and its
                # answer reached the owner's recognizer.
                await until(lambda: bool(_candidate_captions(reload)), timeout_sec=30.0)
                reload.send({"type": "end"})
                ended = await reload.wait_for("ended")

        assert ended["reason"] == "completed"
        assert reload.voiced_frames_received > 50, "the owner's voice reached the reload"
        assert reload.answer_starts, "the reload answered the interviewer"
        await one_completed(stack, session_id)
        await until(lambda: "offer forwarded to the owner" in other.tail(100_000))
        assert "webrtc offer answered" not in other.tail(100_000), "the other made no peer"

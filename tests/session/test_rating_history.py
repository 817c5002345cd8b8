"""The end-of-interview rating and the caption history, over a real gateway and control plane."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from gateway.session.captions import HISTORY_MAX_BYTES, HISTORY_MAX_CAPTIONS, CaptionHistory
from gateway.session.events import Caption
from gateway.session.rating import RatingInvalid, parse_rating
from zenhire.loopback.candidate import Candidate, drop
from zenhire.loopback.stack import Stack, running_stack

pytestmark = pytest.mark.timeout(60)

RATING_WINDOW_SEC = 20


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    env = {"ZENHIRE_RATING_WINDOW_SEC": str(RATING_WINDOW_SEC)}
    async with running_stack(tmp_path, gateway_env=env) as running:
        yield running


async def _next(socket: ClientConnection, kind: str) -> dict[str, Any]:
    """Read text events until one of ``kind``."""
    while True:
        message = await asyncio.wait_for(socket.recv(), 15)
        if isinstance(message, str) and (event := json.loads(message))["type"] == kind:
            return dict(event)


async def _live(stack: Stack) -> tuple[str, Candidate, ClientConnection]:
    session_id, candidate = await stack.open_candidate(Candidate)
    socket = await candidate.connect()
    await _next(socket, "live")
    return session_id, candidate, socket


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "rating", "score": 0}, "score"),
        ({"type": "rating", "score": 6}, "score"),
        ({"type": "rating", "score": 4.5}, "score"),
        ({"type": "rating", "score": True}, "score"),
        ({"type": "rating", "score": 3, "comment": 7}, "comment"),
        ({"type": "rating", "score": 3, "comment": "x" * 1001}, "comment"),
        ({"type": "rating", "score": 3, "stars": 3}, "stars"),
        ({"type": "rating", "skipped": "yes"}, "skipped"),
        ({"type": "rating", "skipped": True, "score": 2}, "skipped"),
    ],
)
@pytest.mark.attack(
    "bad ratings",
    injected="scores out of 1..5, booleans, long comments, unknown fields",
    happened="RATING_INVALID naming the field; the window stays open",
)
def test_bad_ratings_name_their_field(message: dict[str, Any], field: str) -> None:
    with pytest.raises(RatingInvalid) as raised:
        parse_rating(message, "2026-01-01T00:00:00.000Z")
    assert raised.value.field == field


def test_a_skipped_rating_is_none_and_comments_are_trimmed() -> None:
    assert parse_rating({"type": "rating", "skipped": True}, "t") is None
    rating = parse_rating({"type": "rating", "score": 5, "comment": "  great  "}, "t")
    assert rating is not None and (rating.score, rating.comment) == (5, "great")


def test_history_keeps_final_captions_within_its_bounds() -> None:
    history = CaptionHistory()
    history.note(Caption("interviewer", "partial", False, "a"))
    assert len(history) == 0
    for index in range(HISTORY_MAX_CAPTIONS + 5):
        history.note(Caption("candidate", f"answer {index}", True, f"t{index}"))
    event = history.event()
    assert len(event.captions) == HISTORY_MAX_CAPTIONS and event.truncated
    assert event.captions[-1].turn_id == f"t{HISTORY_MAX_CAPTIONS + 4}"
    history.note(Caption("candidate", "", True, f"t{HISTORY_MAX_CAPTIONS + 4}"))
    assert history.event().captions[-1].turn_id == f"t{HISTORY_MAX_CAPTIONS + 3}"
    long = CaptionHistory()
    for index in range(4):
        long.note(Caption("candidate", "x" * (HISTORY_MAX_BYTES // 3), True, f"l{index}"))
    assert [c.turn_id for c in long.event().captions] == ["l1", "l2", "l3"]


def test_a_takeover_restores_the_checkpoints_turns_in_timeline_order() -> None:
    history = CaptionHistory()
    history.restore(
        [
            {"speaker": "candidate", "text": "I built one.", "start_ms": 4000, "end_ms": 6000},
            {"speaker": "interviewer", "text": "Tell me about you.", "start_ms": 0, "end_ms": 2000},
            {"speaker": "interviewer", "text": "  ", "start_ms": 7000, "end_ms": 7100},
            {"speaker": "nobody", "text": "not a turn", "start_ms": 8000, "end_ms": 9000},
        ]
    )
    event = history.event()
    assert [(c.speaker, c.text) for c in event.captions] == [
        ("interviewer", "Tell me about you."),
        ("candidate", "I built one."),
    ]
    assert len({c.turn_id for c in event.captions}) == 2


async def test_a_rating_reaches_the_completion_event_and_the_transcript(stack: Stack) -> None:
    """A wrong rating is refused with the window still open; the corrected one is kept."""
    session_id, _, socket = await _live(stack)
    async with socket:
        await socket.send(json.dumps({"type": "features", "rating": True}))
        await socket.send(json.dumps({"type": "end"}))
        ended = await _next(socket, "ended")
        assert ended["rating_window_sec"] == RATING_WINDOW_SEC
        await socket.send(json.dumps({"type": "rating", "score": 9}))
        assert (await _next(socket, "error"))["code"] == "RATING_INVALID"
        rating = {"type": "rating", "score": 4, "comment": "Clear questions, a bit fast."}
        await socket.send(json.dumps(rating))
        await _next(socket, "rated")
        await asyncio.wait_for(socket.wait_closed(), 5)
    assert socket.close_code == 1000
    session = await stack.wait_for_status(session_id, "completed")
    assert session["candidate_rating"]["score"] == 4
    assert session["candidate_rating"]["comment"] == "Clear questions, a bit fast."
    response = await stack.http.get(
        f"{stack.api}/sessions/{session_id}/transcript", headers=stack.headers
    )
    assert response.json()["rating"]["score"] == 4


async def test_leaving_during_the_window_finalizes_without_a_rating(stack: Stack) -> None:
    session_id, _, socket = await _live(stack)
    async with socket:
        await socket.send(json.dumps({"type": "features", "rating": True}))
        await socket.send(json.dumps({"type": "end"}))
        await _next(socket, "ended")
    session = await stack.wait_for_status(session_id, "completed")
    assert session["candidate_rating"] is None


async def test_a_page_without_a_rating_is_closed_at_once(stack: Stack) -> None:
    session_id, _, socket = await _live(stack)
    async with socket:
        await socket.send(json.dumps({"type": "end"}))
        assert (await _next(socket, "ended"))["rating_window_sec"] == 0
        await asyncio.wait_for(socket.wait_closed(), 5)
    await stack.wait_for_status(session_id, "completed")


async def test_a_reconnect_is_told_the_captions_so_far(stack: Stack) -> None:
    _, candidate, socket = await _live(stack)
    caption = await _next(socket, "caption")
    while not caption["final"]:
        caption = await _next(socket, "caption")
    drop(socket)
    async with await candidate.connect() as again:
        live = json.loads(await asyncio.wait_for(again.recv(), 10))
        assert live["type"] == "live" and live["resumed"] is True
        history = await _next(again, "history")
        restored = {c["turn_id"]: c for c in history["captions"]}
        assert restored[caption["turn_id"]]["text"] == caption["text"].strip()
        await again.send(json.dumps({"type": "end"}))

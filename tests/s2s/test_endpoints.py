"""The gateway's S2S recording endpoint cuts clips: signed with their query, checked,
and the whole recording unchanged without one."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.recorded import SAMPLES_PER_MS, finish_session, noise
from zenhire.loopback.stack import Stack, running_stack
from zenhire.signing import Direction, Signer, signed_path

DOCUMENT = {"duration_ms": 3000, "turns": []}


async def s2s_get(
    stack: Stack, path: str, query: str = "", signed: str | None = None
) -> httpx.Response:
    """``GET path?query`` on the gateway, signed over ``signed`` (default: path and query)."""
    target = signed_path(path, query)
    signer = Signer.of(stack.gateway_settings.s2s_secrets, Direction.TO_GATEWAY)
    headers = signer.headers("GET", target if signed is None else signed, b"")
    return await stack.http.get(stack.gateway_url + target, headers=headers)


async def test_the_signature_covers_the_clip_query(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        session_id = await finish_session(stack, tmp_path, noise(3), DOCUMENT)
        path = f"/s2s/v1/sessions/{session_id}/recording"
        signed = await s2s_get(stack, path, "from_ms=0&to_ms=1000")
        assert signed.status_code == 200
        assert len(signed.content) == 44 + 1000 * SAMPLES_PER_MS * 4
        for query, signature_over in (
            ("from_ms=0&to_ms=1000", path),
            ("from_ms=0&to_ms=2000", f"{path}?from_ms=0&to_ms=1000"),
        ):
            refused = await s2s_get(stack, path, query, signed=signature_over)
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "S2S_UNAUTHORIZED"


async def test_without_a_query_the_whole_recording_is_served(tmp_path: Path) -> None:
    recording = noise(3)
    async with running_stack(tmp_path) as stack:
        session_id = await finish_session(stack, tmp_path, recording, DOCUMENT)
        whole = await s2s_get(stack, f"/s2s/v1/sessions/{session_id}/recording")
        assert whole.status_code == 200
        assert whole.content[44:] == recording.tobytes()
        clip = await s2s_get(stack, f"/s2s/v1/sessions/{session_id}/recording", "channels=both")
        assert clip.content == whole.content, "a clip of everything is the recording"


@pytest.mark.attack(
    "bad clip queries",
    injected="non-numeric, inverted and huge clip bounds",
    happened="400 at the control plane and the gateway",
)
async def test_bad_clip_queries_are_400_at_the_gateway_too(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        session_id = await finish_session(stack, tmp_path, noise(1), DOCUMENT)
        path = f"/s2s/v1/sessions/{session_id}/recording"
        for query in ("from_ms=x", "to_ms=-1", "from_ms=9&to_ms=8", "channels=interviewer"):
            response = await s2s_get(stack, path, query)
            assert response.status_code == 400, query
            assert response.json()["error"]["code"] == "BAD_REQUEST"
        unknown = await s2s_get(stack, "/s2s/v1/sessions/no-such-session/recording", "from_ms=0")
        assert unknown.status_code == 404

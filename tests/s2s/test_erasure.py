"""The gateway's ``DELETE /s2s/v1/sessions/{id}/artifacts`` (docs/s2s.md §4), over real servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from zenhire.loopback.candidate import Candidate
from zenhire.loopback.stack import SECRET, Stack, running_stack
from zenhire.signing import Direction, Signer

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path) as running:
        yield running


def _path(session_id: str) -> str:
    return f"/s2s/v1/sessions/{session_id}/artifacts"


async def _delete(stack: Stack, path: str, secret: str = SECRET) -> httpx.Response:
    headers = Signer.of([secret], Direction.TO_GATEWAY).headers("DELETE", path, b"")
    return await stack.http.delete(stack.gateway_url + path, headers=headers)


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def _finished_interview(stack: Stack) -> str:
    session_id, candidate = await stack.open_candidate(Candidate)
    await candidate.interview([], end_after_sec=1.0)
    await stack.wait_for_status(session_id, "completed")
    return session_id


async def test_delete_erases_the_files_and_is_idempotent(stack: Stack) -> None:
    session_id = await _finished_interview(stack)
    folder = stack.gateway_settings.artifacts_dir / "sessions" / session_id
    assert {p.name for p in folder.iterdir()} == {"recording.wav", "transcript.json"}
    response = await _delete(stack, _path(session_id))
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["session_id"] == session_id
    assert receipt["deleted"] == [
        {"artifact": "recording", "key": f"sessions/{session_id}/recording.wav", "store": "local"},
        {
            "artifact": "transcript",
            "key": f"sessions/{session_id}/transcript.json",
            "store": "local",
        },
    ]
    assert receipt["deleted_at"].endswith("Z")
    assert not folder.exists()
    assert _code(await _delete(stack, _path(session_id))) == (404, "ARTIFACT_NOT_FOUND")


async def test_delete_removes_a_spool_folder_left_behind(stack: Stack) -> None:
    """Spooled audio of a session no longer live is erased too."""
    session_id = "0b5e1f4c-spool"
    folder = stack.gateway_settings.spool_dir / session_id
    folder.mkdir(parents=True)
    (folder / "recording.wav").write_bytes(b"RIFF")
    response = await _delete(stack, _path(session_id))
    assert response.status_code == 200, response.text
    assert response.json()["deleted"] == [
        {"artifact": "spool", "key": f"spool/{session_id}", "store": "spool"}
    ]
    assert not folder.exists()


async def test_a_live_interview_is_not_erased(stack: Stack) -> None:
    session_id, candidate = await stack.open_candidate(Candidate)
    talking = asyncio.create_task(candidate.interview([], end_after_sec=4.0))
    await stack.wait_for_status(session_id, "active")
    assert _code(await _delete(stack, _path(session_id))) == (409, "SESSION_LIVE")
    await talking
    await stack.wait_for_status(session_id, "completed")
    assert (await _delete(stack, _path(session_id))).status_code == 200


@pytest.mark.parametrize(
    ("path", "secret", "expected"),
    [
        (_path("abc"), "wrong-secret", (401, "S2S_UNAUTHORIZED")),
        (_path("no-such-session"), SECRET, (404, "ARTIFACT_NOT_FOUND")),
        (_path("x" * 65), SECRET, (404, "ARTIFACT_NOT_FOUND")),
        (_path("..."), SECRET, (404, "ARTIFACT_NOT_FOUND")),
        (_path("a.b"), SECRET, (404, "ARTIFACT_NOT_FOUND")),
    ],
)
async def test_bad_deletes_are_refused(
    stack: Stack, path: str, secret: str, expected: tuple[int, str]
) -> None:
    assert _code(await _delete(stack, path, secret)) == expected


@pytest.mark.attack(
    "unsigned S2S delete",
    injected="erasure without or with a stale signature",
    happened="401, nothing deleted",
)
async def test_an_unsigned_or_stale_delete_is_refused(stack: Stack) -> None:
    path = _path("abc")
    bare = await stack.http.delete(stack.gateway_url + path)
    assert _code(bare) == (401, "S2S_UNAUTHORIZED")
    stale = Signer.of([SECRET], Direction.TO_GATEWAY).headers("DELETE", path, b"", now=1)
    old = await stack.http.delete(stack.gateway_url + path, headers=stale)
    assert _code(old) == (401, "S2S_UNAUTHORIZED")
    get_signed = Signer.of([SECRET], Direction.TO_GATEWAY).headers("GET", path, b"")
    wrong_method = await stack.http.delete(stack.gateway_url + path, headers=get_signed)
    assert _code(wrong_method) == (401, "S2S_UNAUTHORIZED")

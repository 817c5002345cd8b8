"""The verify answer's additions (docs/s2s.md "Additions"), parsed strictly at the gateway's edge.

The control plane is a small working fake behind httpx's `MockTransport`:
it answers verify with the body a test gives it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gateway.errors import ControlPlaneError
from gateway.interviewer import PersonaQuestion
from gateway.s2s.controlplane import HttpControlPlane, Verification
from zenhire.signing import Direction, Signer

BASE: dict[str, Any] = {
    "session_id": "s-1",
    "client_id": "c-1",
    "status": "initiated",
    "consent_mode": "integrator",
    "candidate_ref": None,
    "persona": {"id": "p-1", "role_name": "Engineer", "language": "en"},
    "limits": {"max_concurrent": 2, "max_duration_sec": 1800},
    "expires_at": "2026-06-05T10:00:00.000Z",
}
QUESTION = {"id": "custom-1", "text": "Why us?", "type": "motivation", "time_limit_seconds": 60}


async def _verify(body: dict[str, Any]) -> Verification:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(body).encode())

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        plane = HttpControlPlane(
            client, "http://control.test", Signer.of(["secret"], Direction.TO_CONTROL_PLANE)
        )
        return await plane.verify("token")


def _with(persona: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    return {**BASE, "persona": {**BASE["persona"], **(persona or {})}, **top}


async def test_questions_and_extra_time_are_read() -> None:
    unnamed = {k: v for k, v in QUESTION.items() if k != "id"}
    verification = await _verify(
        _with({"questions": [QUESTION, unnamed]}, accommodations={"extra_time_pct": 25})
    )
    assert verification.persona.questions == (
        PersonaQuestion("custom-1", "Why us?", "motivation", 60),
        PersonaQuestion("q-2", "Why us?", "motivation", 60),
    )
    assert (verification.max_duration_sec, verification.extra_time_pct) == (1800, 25)
    assert verification.time_budget_sec == 2250


async def test_without_additions_nothing_changes() -> None:
    verification = await _verify(BASE)
    assert verification.persona.questions == ()
    assert (verification.extra_time_pct, verification.time_budget_sec) == (0, 1800)


async def test_odd_budgets_round_up_to_a_second() -> None:
    verification = await _verify(_with(accommodations={"extra_time_pct": 33}))
    assert verification.time_budget_sec == 2394  # 33 % of 1800 s is 594 s
    verification = await _verify(
        _with(
            limits={"max_concurrent": 1, "max_duration_sec": 7},
            accommodations={"extra_time_pct": 10},
        )
    )
    assert verification.time_budget_sec == 8  # 7.7 rounds up


@pytest.mark.parametrize(
    "body",
    [
        _with({"questions": []}),
        _with({"questions": [QUESTION] * 21}),
        _with({"questions": "Why us?"}),
        _with({"questions": [{**QUESTION, "text": ""}]}),
        _with({"questions": [{**QUESTION, "text": "x" * 501}]}),
        _with({"questions": [{**QUESTION, "type": "Not A Type"}]}),
        _with({"questions": [{**QUESTION, "time_limit_seconds": 9}]}),
        _with({"questions": [{**QUESTION, "time_limit_seconds": 3601}]}),
        _with({"questions": [{**QUESTION, "time_limit_seconds": "60"}]}),
        _with({"questions": [{**QUESTION, "time_limit_seconds": True}]}),
        _with({"questions": [{**QUESTION, "id": "../etc"}]}),
        _with({"questions": [{**QUESTION, "id": 7}]}),
        _with({"questions": [QUESTION, QUESTION]}),
        _with(accommodations={"extra_time_pct": -1}),
        _with(accommodations={"extra_time_pct": 101}),
        _with(accommodations={"extra_time_pct": "50"}),
        _with(accommodations={"extra_time_pct": 12.5}),
        _with(accommodations=[50]),
        # Ids reach paths, Redis keys and logs: a pattern, checked before any use.
        _with(session_id="../../spool/other"),
        _with(session_id="s" * 65),
        _with(session_id=""),
        _with(client_id="acme}:holders"),
        _with(client_id="a b"),
        _with({"id": "p/1"}),
        _with({"language": "en; DROP"}),
        _with({"role_name": ""}),
        _with({"role_name": "r" * 201}),
        _with(candidate_ref="c" * 257),
        _with(limits={"max_concurrent": 0, "max_duration_sec": 1800}),
        _with(limits={"max_concurrent": 2, "max_duration_sec": 0}),
        _with(limits={"max_concurrent": 2, "max_duration_sec": 10**12}),
    ],
)
@pytest.mark.attack(
    "hostile verify answer",
    injected="ids with slashes or braces, huge limits, bad questions from the control plane",
    happened="refused before any path or key sees them",
)
async def test_malformed_additions_are_the_control_planes_error(body: dict[str, Any]) -> None:
    with pytest.raises(ControlPlaneError):
        await _verify(body)

"""Per-question plans: custom persona questions, the default plan, and what verify carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.s2s.controlplane import HttpControlPlane
from tests.controlplane.harness import SECRET, VERIFY, assert_error, running_platform
from zenhire.signing import Direction, Signer

CUSTOM = [
    {
        "text": "Describe your experience with React hooks.",
        "type": "technical",
        "time_limit_seconds": 180,
    },
    {"text": "Why do you want to work here?", "type": "behavioral", "time_limit_seconds": 120},
]


async def test_custom_questions_are_asked_in_order(tmp_path: Path) -> None:
    async with running_platform(tmp_path) as platform:
        persona = await platform.ok(
            "POST",
            "/personas",
            201,
            json={"role_name": "Frontend", "language": "en", "questions": CUSTOM},
        )
        assert [q["text"] for q in persona["questions"]] == [q["text"] for q in CUSTOM]
        assert await platform.ok("GET", f"/personas/{persona['id']}") == persona
        session_id, _ = await platform.start(persona["id"])
        plan = await platform.ok("GET", f"/sessions/{session_id}/questions")
        assert plan["session_id"] == session_id
        assert plan["total_questions"] == 2
        assert plan["estimated_duration_seconds"] == 300
        assert [
            (
                q["question_text"],
                q["question_type"],
                q["time_limit_seconds"],
                q["order"],
                q["is_custom"],
            )
            for q in plan["questions"]
        ] == [
            (q["text"], q["type"], q["time_limit_seconds"], i, True) for i, q in enumerate(CUSTOM)
        ]
        assert all(q["id"].startswith("custom-") for q in plan["questions"])
        assert [q["id"] for q in plan["questions"]] == [q["id"] for q in persona["questions"]]


async def test_a_persona_without_questions_describes_the_default_plan(tmp_path: Path) -> None:
    async with running_platform(tmp_path) as platform:
        persona_id = await platform.persona()
        persona = await platform.ok("GET", f"/personas/{persona_id}")
        assert "questions" not in persona  # the seed's persona shape
        session_id, _ = await platform.start(persona_id)
        plan = await platform.ok("GET", f"/sessions/{session_id}/questions")
        questions = plan["questions"]
        assert questions[0]["id"] == "gen-01" and questions[0]["question_type"] == "general"
        assert {q["question_type"] for q in questions[1:]} == {"engineering"}
        assert plan["total_questions"] == len(questions) == 6
        assert plan["estimated_duration_seconds"] == 6 * 120
        assert not any(q["is_custom"] for q in questions)


async def test_verify_adds_questions_and_accommodations_beside_the_contract(
    tmp_path: Path,
) -> None:
    """The gateway's own verify client parses the response with the added fields."""
    async with running_platform(tmp_path) as platform:
        body = {"role_name": "Frontend", "language": "en", "questions": CUSTOM}
        persona = await platform.ok("POST", "/personas", 201, json=body)
        _, token = await platform.start(persona["id"], accommodations={"extra_time_pct": 25})
        view: dict[str, Any] = (await platform.s2s(VERIFY, {"token": token})).json()
        assert view["accommodations"] == {"extra_time_pct": 25}
        assert view["persona"]["questions"] == persona["questions"]
        async with httpx.AsyncClient() as http:
            gateway_side = HttpControlPlane(
                http, str(platform.http.base_url), Signer.of([SECRET], Direction.TO_CONTROL_PLANE)
            )
            verification = await gateway_side.verify(token)
        assert verification.persona.role_name == "Frontend"
        assert verification.max_duration_sec == 1800


@pytest.mark.parametrize(
    "questions",
    [
        [{"text": "q"}] * 21,
        [{"text": ""}],
        [{"text": "x" * 501}],
        [{"text": "q", "type": "Not A Type"}],
        [{"text": "q", "time_limit_seconds": 5}],
        [{"text": "q", "time_limit_seconds": "60"}],
        [{"question": "q"}],
        "not a list",
    ],
)
async def test_bad_questions_are_400(tmp_path: Path, questions: object) -> None:
    async with running_platform(tmp_path) as platform:
        body = {"role_name": "Engineer", "language": "en", "questions": questions}
        assert_error(await platform.call("POST", "/personas", json=body), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "accommodations",
    [{"extra_time_pct": 101}, {"extra_time_pct": -1}, {"extra_time_pct": "10"}, 10],
)
async def test_bad_accommodations_are_400(tmp_path: Path, accommodations: object) -> None:
    async with running_platform(tmp_path) as platform:
        persona_id = await platform.persona()
        body = {"accommodations": accommodations}
        response = await platform.call("POST", f"/personas/{persona_id}/sessions", json=body)
        assert_error(response, 400, "VALIDATION_ERROR")

"""``GET /sessions/{id}/questions``: what the interviewer asks, in order.

A persona with custom questions gets exactly those (``is_custom: true``),
which the verify response hands to the gateway as ``persona.questions``. A
persona without them gets the embedded interviewer's default plan, described
from the same package data the gateway's local interviewer reads
(``gateway/interviewer/local/questions/*.json``, through its
`QuestionCatalog`, so the two cannot disagree): the opener and the role
family's questions, at most the local interviewer's default number, each
with its default answer time as the time limit. A gateway tuned with
``ZENHIRE_LOCAL_MAX_QUESTIONS`` asks fewer; a language the catalog lacks
has no default plan (an empty list). The shape is the RoundZero seed's.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from controlplane.access import authenticate, owned_persona, owned_session
from controlplane.records import Persona
from controlplane.resources import resources_of
from gateway.interviewer import Persona as InterviewerPersona
from gateway.interviewer.local.plan import QuestionCatalog
from gateway.interviewer.local.settings import LocalInterviewerSettings

MS_PER_SECOND = 1000


class QuestionPlans:
    """The questions of a persona; the catalog loads once, when the app starts."""

    def __init__(self) -> None:
        self._catalog = QuestionCatalog.load()
        defaults = LocalInterviewerSettings()
        self._max_questions = defaults.max_questions
        self._time_limit_sec = defaults.max_answer_ms // MS_PER_SECOND

    def of(self, persona: Persona) -> list[dict[str, Any]]:
        if persona.questions:
            return [
                {
                    "id": question.id,
                    "question_text": question.text,
                    "question_type": question.type,
                    "time_limit_seconds": question.time_limit_seconds,
                    "order": order,
                    "is_custom": True,
                }
                for order, question in enumerate(persona.questions)
            ]
        if not self._catalog.supports(persona.language):
            return []
        plan = self._catalog.plan(
            InterviewerPersona(
                id=persona.id, role_name=persona.role_name, language=persona.language
            ),
            self._max_questions,
            self._time_limit_sec,
        )
        return [
            {
                "id": question.id,
                "question_text": question.text,
                "question_type": question.type,
                "time_limit_seconds": question.time_limit_seconds,
                "order": order,
                "is_custom": False,
            }
            for order, question in enumerate(plan.questions)
        ]


async def session_questions(request: Request) -> Response:
    resources = resources_of(request)
    client = authenticate(request, resources.store)
    session = owned_session(resources.store, client, request.path_params["session_id"])
    persona = owned_persona(resources.store, client, session.persona_id)
    questions = resources.questions.of(persona)
    return JSONResponse(
        {
            "session_id": session.id,
            "questions": questions,
            "total_questions": len(questions),
            "estimated_duration_seconds": sum(q["time_limit_seconds"] for q in questions),
        }
    )


def routes() -> list[BaseRoute]:
    """The questions route, relative to ``/api/v1/interview``."""
    return [Route("/sessions/{session_id}/questions", session_questions, methods=["GET"])]

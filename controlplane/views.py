"""How personas and sessions read in the integrator API (and in webhook payloads).

`session_json` is the shape of ``GET /sessions/{id}``, of each item of
``GET /sessions`` and of every webhook's ``data``; `persona_json` that of the
persona endpoints. Both keep the seeds' fields as they are; a persona adds
``questions`` only when it has custom ones, a session always adds
``project_id`` (``null`` when its key had no project) and ``candidate_rating``
(``null`` until the candidate rated the interview on its end screen).
"""

from __future__ import annotations

from typing import Any

from controlplane.records import CandidateRating, Persona, Question, Session


def persona_json(persona: Persona) -> dict[str, Any]:
    return {
        "id": persona.id,
        "client_id": persona.client_id,
        "role_name": persona.role_name,
        "language": persona.language,
        "status": persona.status,
        "created_at": persona.created_at,
        **(
            {"questions": [question_json(q) for q in persona.questions]}
            if persona.questions
            else {}
        ),
    }


def question_json(question: Question) -> dict[str, Any]:
    return {
        "id": question.id,
        "text": question.text,
        "type": question.type,
        "time_limit_seconds": question.time_limit_seconds,
    }


def session_json(session: Session) -> dict[str, Any]:
    error = session.error
    return {
        "id": session.id,
        "persona_id": session.persona_id,
        "status": session.status.value,
        "duration_sec": session.duration_sec,
        "credit_charged": session.credit_charged,
        "consent_mode": session.consent_mode.value,
        "candidate_ref": session.candidate_ref,
        "created_at": session.created_at,
        "started_at": session.started_at,
        "completed_at": session.completed_at,
        "error": None if error is None else {"code": error.code, "message": error.message},
        "project_id": session.project_id,
        "candidate_rating": rating_json(session.rating),
    }


def rating_json(rating: CandidateRating | None) -> dict[str, Any] | None:
    if rating is None:
        return None
    return {"score": rating.score, "comment": rating.comment, "rated_at": rating.rated_at}

"""The candidate page's HTTP API: verify a link, record consent.

``POST /api/v1/candidate/session {"token"}`` verifies the token with the
control plane (attempts are capped per address and per replica,
`gateway.limits`: ``429 RATE_LIMITED`` with ``Retry-After``) and answers with
a short-lived ticket, what the page shows (role, language, consent) and the
ICE servers for its ``RTCPeerConnection`` (with TURN credentials minted for
the session, `gateway.transports.ice`). ``POST /api/v1/candidate/consent
{"ticket", "accepted": true, "text_version"}`` records explicit consent.
``POST /api/v1/candidate/readiness {"ticket", "readiness"}`` records what the
page's readiness check found, for the interview about to start. The raw
token is only ever read from a POST body and never logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.candidate import joining
from gateway.candidate.consent import CONSENT_TEXT, CONSENT_VERSION
from gateway.candidate.readiness import ReadinessInvalid, parse_readiness
from gateway.candidate.refusals import Refusal
from gateway.errors import GatewayError, TicketError
from gateway.http import BadRequest, error_response, json_object
from gateway.limits import Limited, client_address
from gateway.logs import token_fingerprint
from gateway.s2s.controlplane import Verification
from gateway.services import Services, services
from gateway.session.identity import Consent
from gateway.session.live import LiveSession
from zenhire.timestamps import now_iso

log = logging.getLogger("zenhire.candidate")

MAX_TOKEN_CHARS = 256


def routes(static_dir: Path) -> list[BaseRoute]:
    return [
        Route("/", index),
        Route("/api/v1/candidate/session", open_session, methods=["POST"]),
        Route("/api/v1/candidate/consent", record_consent, methods=["POST"]),
        Route("/api/v1/candidate/readiness", record_readiness, methods=["POST"]),
        Mount("/static", StaticFiles(directory=static_dir), name="static"),
    ]


async def index(request: Request) -> Response:
    page = services(request).settings.static_dir / "index.html"
    return FileResponse(page, headers={"Cache-Control": "no-store"})


async def open_session(request: Request) -> Response:
    found = services(request)
    try:
        # Counted before anything else: each attempt may cost a control plane call.
        found.limits.verify.spend(client_address(request.scope))
    except Limited as limited:
        return limited.response()
    try:
        body = await json_object(request)
        token = body.get("token")
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise BadRequest("TOKEN_INVALID", "This interview link is not valid.", 404)
        verification = await found.control_plane.verify(token)
    except BadRequest as exc:
        return error_response(exc.status, exc.code, exc.message)
    except GatewayError as exc:
        fingerprint = token_fingerprint(token) if isinstance(token, str) else None
        log.info("token refused", extra={"code": exc.code, "token_fingerprint": fingerprint})
        return error_response(exc.http_status, exc.code, _candidate_message(exc))
    registry = found.registry
    session_id = verification.session_id
    if verification.finished or await registry.finished_anywhere(session_id):
        return Refusal.SESSION_FINISHED.response()
    language = verification.persona.language
    if not registry.interviewers.supports_language(language):
        return error_response(
            422,
            "LANGUAGE_UNSUPPORTED",
            f"Interviews in this language ({language}) are not available yet.",
            {"language": language},
        )
    registry.remember(verification)
    # A reload may reach another replica than the one it consented on.
    await joining.recall(found, session_id)
    await joining.share_verification(found, verification)
    consent = registry.consent(session_id)
    log.info(
        "token verified",
        extra={"session_id": session_id, "token_fingerprint": token_fingerprint(token)},
    )
    return JSONResponse(
        {
            "ticket": found.tickets.issue(session_id),
            "session": {
                "session_id": session_id,
                "status": verification.status,
                "role_name": verification.persona.role_name,
                "language": language,
                "max_duration_sec": verification.time_budget_sec,
                "extra_time_pct": verification.extra_time_pct,
                "live": _accepting(registry.live(session_id)),
            },
            "consent": {
                "required": verification.consent_mode == "explicit",
                "accepted": consent is not None,
                "text": CONSENT_TEXT,
                "version": CONSENT_VERSION,
            },
            "ice_servers": [server.as_json() for server in found.ice.for_holder(session_id)],
        }
    )


async def record_consent(request: Request) -> Response:
    found = services(request)
    try:
        body = await json_object(request)
        ticket = found.tickets.check(body.get("ticket"))
        if body.get("accepted") is not True:
            raise BadRequest("CONSENT_DECLINED", "Consent must be accepted to continue.")
        if body.get("text_version") != CONSENT_VERSION:
            raise BadRequest(
                "CONSENT_VERSION_MISMATCH", "The consent text has changed; reload.", 409
            )
    except BadRequest as exc:
        return error_response(exc.status, exc.code, exc.message)
    except TicketError:
        return Refusal.TICKET_INVALID.response()
    if await _verification(found, ticket.session_id) is None:
        return Refusal.SESSION_UNKNOWN.response()
    found.registry.record_consent(ticket.session_id, Consent(now_iso(), CONSENT_VERSION))
    consent = found.registry.consent(ticket.session_id)
    assert consent is not None
    await joining.share_consent(found, ticket.session_id, consent)
    return JSONResponse({"accepted_at": consent.accepted_at, "text_version": consent.text_version})


async def record_readiness(request: Request) -> Response:
    found = services(request)
    try:
        body = await json_object(request)
        ticket = found.tickets.check(body.get("ticket"))
        unknown = sorted(set(body) - {"ticket", "readiness"})
        if unknown:
            raise BadRequest("READINESS_INVALID", f"{unknown[0]}: unknown field")
        readiness = parse_readiness(body.get("readiness"))
    except BadRequest as exc:
        return error_response(exc.status, exc.code, exc.message)
    except TicketError:
        return Refusal.TICKET_INVALID.response()
    except ReadinessInvalid as exc:
        return error_response(400, "READINESS_INVALID", str(exc), {"field": exc.field})
    registry = found.registry
    session_id = ticket.session_id
    if await _verification(found, session_id) is None:
        return Refusal.SESSION_UNKNOWN.response()
    if registry.is_finished(session_id):
        return Refusal.SESSION_FINISHED.response()
    if registry.live(session_id) is not None:
        return error_response(
            409,
            "SESSION_LIVE",
            "The interview has already started; a readiness check can only configure its start.",
        )
    registry.record_readiness(session_id, readiness)
    await joining.share_readiness(found, session_id, readiness)
    return JSONResponse({"recorded_at": now_iso(), "echo_path": readiness.echo_path})


async def _verification(found: Services, session_id: str) -> Verification | None:
    """The session's verification here, or as another replica shared it."""
    return found.registry.verification(session_id) or await joining.recall(found, session_id)


def _accepting(session: LiveSession | None) -> bool:
    return session is not None and session.accepting


def _candidate_message(exc: GatewayError) -> str:
    if exc.code in ("TOKEN_INVALID", "TOKEN_EXPIRED"):
        return str(exc)
    return "The interview service is temporarily unavailable. Please try again in a minute."

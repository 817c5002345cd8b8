"""WebRTC signaling: one POST per connection, offer in, complete answer out.

``POST /api/v1/candidate/webrtc/offer {"ticket", "sdp", "type": "offer"}``
→ ``{"sdp", "type": "answer"}``. The exchange is non-trickle: the page
waits for its ICE gathering to complete before posting, and the answer
already lists every gateway candidate (aiortc gathers inside
``setLocalDescription`` and cannot trickle its own). One round trip keeps
signaling stateless HTTP: no second endpoint for late candidates, no
per-connection state before the offer is accepted, and with host, STUN
and TURN candidates gathering takes milliseconds to a second or two,
about what trickling would save.

Errors use the candidate API's envelope: ``400 SDP_INVALID`` (not an
offer, larger than 64 KiB, unparseable, no audio m-line, no data channel,
nothing aiortc can use), ``401 TICKET_INVALID``/``SESSION_UNKNOWN``,
``403 CONSENT_REQUIRED``/``ORIGIN_NOT_ALLOWED``, ``409 SESSION_FINISHED``,
``400 INVALID_JSON``, ``413 BODY_TOO_LARGE``, ``429 TOO_MANY_CONNECTIONS``
(more than four connections of one session at once), ``429
CONNECTION_LIMIT`` with ``Retry-After`` (too many peers of one address, or
of this replica, still connecting: `gateway.limits`), ``503 SHUTTING_DOWN``. A
refused offer never touches the live session: the peer joins it only
once its connection is up (`gateway.transports.webrtc.Peer.run`).

An offer for an interview owned by another replica is forwarded to it
(`gateway.transports.forwarding`): the answer, and the peer, are the owner's.
"""

from __future__ import annotations

import logging

from aiortc import RTCSessionDescription
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.candidate.admission import check_ticket
from gateway.candidate.refusals import Refusal, Refused
from gateway.http import BadRequest, error_response, json_object, origin_allowed
from gateway.limits import Limited, client_address
from gateway.services import services
from gateway.transports.forwarding import forward_offer, forwarded, owner_elsewhere
from gateway.transports.peers import PeerConnections
from gateway.transports.webrtc import MAX_SDP_CHARS, OfferRejected, check_offer
from zenhire.signing import SIGNATURE_HEADER, target_of

log = logging.getLogger("zenhire.webrtc")

OFFER_PATH = "/api/v1/candidate/webrtc/offer"
# The SDP travels JSON-escaped (each CRLF becomes four characters), beside the ticket.
MAX_OFFER_BODY_BYTES = 2 * MAX_SDP_CHARS


async def webrtc_offer(request: Request) -> Response:
    found = services(request)
    peers: PeerConnections = request.app.state.peers
    # A join forwarded by another replica carries no origin (that replica checked it).
    signed = SIGNATURE_HEADER.lower() in request.headers
    if not signed and not origin_allowed(
        request.headers.get("origin"), found.settings.allowed_origins
    ):
        return Refusal.ORIGIN_NOT_ALLOWED.response()
    try:
        # Held from the offer's arrival until the peer connects (or fails to): the
        # costly part, ICE gathering and UDP sockets, happens while it is pending.
        pending = found.limits.pending_peers.hold(client_address(request.scope))
    except Limited as limited:
        return limited.response()
    answer = None
    try:
        body = await json_object(request)
        raw = await request.body()
        target = target_of(request.scope["raw_path"], request.scope["query_string"])
        # A replica's signature is checked here; without one, the origin was checked above.
        from_replica = forwarded(found, request.headers, "POST", target, raw)
        verification = await check_ticket(found, body.get("ticket"))
        sdp = body.get("sdp")
        if body.get("type") != "offer" or not isinstance(sdp, str):
            raise OfferRejected('Send {"sdp": <offer SDP>, "type": "offer"}.')
        check_offer(sdp)
        owner = None if from_replica else await owner_elsewhere(found, verification.session_id)
        if owner is not None:
            answered = await forward_offer(found, request.app.state.http, owner, raw)
            if answered is not None:
                status, answer_body = answered
                return JSONResponse(answer_body, status_code=status)
        offer = RTCSessionDescription(sdp, "offer")
        answer = await peers.open(found, verification, offer, pending)
    except BadRequest as exc:
        return error_response(exc.status, exc.code, exc.message)
    except Refused as refused:
        return refused.refusal.response()
    except OfferRejected as exc:
        log.info("webrtc offer rejected", extra={"reason": str(exc)})
        return error_response(400, "SDP_INVALID", str(exc))
    finally:
        if answer is None:
            pending.release()
    log.info("webrtc offer answered", extra={"session_id": verification.session_id})
    return JSONResponse({"sdp": answer.sdp, "type": answer.type})

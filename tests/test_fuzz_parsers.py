"""Property-based fuzzing of the parsers at the gateway's edge: whatever arrives, each
answers with its own refusal (the 4xx the caller sees) or a well-formed value, and
never with another exception (a 5xx). Signatures and Range headers have their own
property tests beside their modules; the integrator API is fuzzed by schemathesis."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import hmac
import json
import re
from typing import Any

from aiortc import RTCPeerConnection
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from gateway.candidate.readiness import ReadinessInvalid, parse_readiness
from gateway.candidate.tickets import TicketBook
from gateway.errors import TicketError
from gateway.http import BadRequest, json_object
from gateway.session.rating import RatingInvalid, parse_rating
from gateway.transports.webrtc import OfferRejected, check_offer
from tests.reliability import count_example

READINESS_FIELDS = ["version", "browser", "echo", "network", "x"]
KEY = b"k" * 32
BOOK = TicketBook((KEY,), ttl_sec=60, clock=lambda: 1_000_000.0)
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(payload: str) -> str:
    return f"{payload}.{_b64(hmac.new(KEY, payload.encode(), hashlib.sha256).digest())}"


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.text(max_size=600), JSON))
def test_a_forged_ticket_is_only_ever_a_ticket_error(ticket: object) -> None:
    count_example("tickets (forged)")
    try:
        BOOK.check(ticket)
    except TicketError:
        return
    raise AssertionError("a ticket nobody signed was accepted")


@settings(max_examples=2000, deadline=None)
@given(st.one_of(JSON, st.fixed_dictionaries({"sid": JSON, "exp": JSON})))
def test_a_signed_ticket_with_any_claims_is_read_strictly(claims: Any) -> None:
    """Even what our key signed is checked: an id by its pattern, a whole expiry."""
    count_example("tickets (signed, any claims)")
    try:
        ticket = BOOK.check(_signed(_b64(json.dumps(claims).encode())))
    except TicketError:
        return
    assert SESSION_ID.fullmatch(ticket.session_id)
    assert isinstance(ticket.expires_at, int) and ticket.expires_at >= 1_000_000


@functools.cache
def _offer() -> str:
    async def make() -> str:
        peer = RTCPeerConnection()
        peer.addTransceiver("audio")
        peer.createDataChannel("events")
        await peer.setLocalDescription(await peer.createOffer())
        sdp = peer.localDescription.sdp
        await peer.close()
        return sdp

    return asyncio.run(make())


@settings(max_examples=1500, deadline=None)
@given(st.data())
def test_a_mangled_offer_is_answered_or_refused(data: st.DataObject) -> None:
    lines = _offer().split("\r\n")
    index = data.draw(st.integers(0, len(lines) - 1))
    how = data.draw(st.sampled_from(["drop", "garble", "repeat", "truncate"]))
    if how == "drop":
        del lines[index]
    elif how == "garble":
        lines[index] = data.draw(st.text(max_size=80))
    elif how == "repeat":
        lines[index:index] = [lines[index]] * data.draw(st.integers(1, 50))
    else:
        lines = lines[:index]
    count_example("SDP offers (mangled)")
    with contextlib.suppress(OfferRejected):
        check_offer("\r\n".join(lines))


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=2000))
def test_any_text_as_an_offer_is_answered_or_refused(sdp: str) -> None:
    count_example("SDP offers (any text)")
    with contextlib.suppress(OfferRejected):
        check_offer(sdp)


@settings(max_examples=1000, deadline=None)
@given(
    st.one_of(
        JSON, st.dictionaries(st.sampled_from(["version", "browser", "echo", "network", "x"]), JSON)
    )
)
def test_a_readiness_result_is_parsed_or_refused_by_field(value: Any) -> None:
    count_example("control messages: readiness")
    with contextlib.suppress(ReadinessInvalid):
        parse_readiness(value)


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(st.sampled_from(["type", "score", "comment", "skipped", "x"]), JSON))
def test_a_rating_message_is_parsed_or_refused(message: dict[str, Any]) -> None:
    count_example("control messages: rating")
    try:
        rating = parse_rating(message, "2026-12-02T00:00:00.000Z")
    except RatingInvalid:
        return
    if rating is not None:
        assert 1 <= rating.score <= 5


def _request(body: bytes) -> Request:
    chunks = [body[i : i + 97] for i in range(0, len(body), 97)] or [b""]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    return Request({"type": "http", "method": "POST", "headers": []}, receive)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.binary(max_size=300), JSON.map(lambda v: json.dumps(v).encode())))
def test_any_body_is_a_json_object_or_a_clear_400(body: bytes) -> None:
    count_example("JSON bodies")
    try:
        found = asyncio.run(json_object(_request(body)))
    except BadRequest as refused:
        assert 400 <= refused.status < 500
        return
    assert isinstance(found, dict)

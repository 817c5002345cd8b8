"""Per-address and replica-wide caps: verify attempts, open WebSockets, WebRTC peers still
connecting; a flood from one address leaves another address's interview alone.

Clients take distinct loopback addresses (127.0.0.2, 127.0.0.3, ...: all of
127/8 reaches the server on 127.0.0.1), so "another address" is real.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
import websockets
from aiortc import RTCConfiguration, RTCPeerConnection

from gateway.limits import MAX_TRACKED_ADDRESSES, Occupancy, Rate, client_address
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.stack import Stack, running_stack
from zenhire.loopback.webrtc_candidate import WebRTCCandidate

SESSION_PATH = "/api/v1/candidate/session"
OFFER_PATH = "/api/v1/candidate/webrtc/offer"
FLOODER, OTHER, THIRD = "127.0.0.2", "127.0.0.3", "127.0.0.4"


def _from(address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=address))


def _ws_url(stack: Stack) -> str:
    return stack.gateway_url.replace("http://", "ws://") + "/api/v1/candidate/ws"


async def _verify(
    client: httpx.AsyncClient, stack: Stack, token: str = "no-such"
) -> httpx.Response:
    return await client.post(stack.gateway_url + SESSION_PATH, json={"token": token})


def _assert_limited(response: httpx.Response, code: str) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["details"]["retry_after_sec"] >= 1


# -- the caps' own memory ------------------------------------------------------


@pytest.mark.attack(
    "rotating addresses",
    injected="30,000 client addresses through the rate limiter",
    happened="at most 10,000 entries kept",
)
def test_addresses_rotating_through_the_rate_cannot_grow_its_memory() -> None:
    rate = Rate(("RATE_LIMITED", "slow down"), 5, 60.0, 10**9)
    for n in range(3 * MAX_TRACKED_ADDRESSES):
        rate.spend(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")
    assert len(rate) <= MAX_TRACKED_ADDRESSES


def test_an_occupancy_forgets_an_address_once_it_holds_nothing() -> None:
    occupancy = Occupancy(("CONNECTION_LIMIT", "later"), 2, 3)
    holds = [occupancy.hold("a"), occupancy.hold("a"), occupancy.hold("b")]
    assert (len(occupancy), occupancy.addresses) == (3, 2)
    for hold in holds:
        hold.release()
        hold.release()  # idempotent
    assert (len(occupancy), occupancy.addresses) == (0, 0)


def test_ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() -> None:
    def of(host: str) -> str:
        return client_address({"type": "http", "client": (host, 1234)})

    assert of("2001:db8:1:2:aaaa::1") == of("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert of("2001:db8:1:3::1") != of("2001:db8:1:2::1")
    assert of("::ffff:192.0.2.7") == of("192.0.2.7") == "192.0.2.7"
    assert client_address({"type": "http", "client": None}) == "unknown"


# -- verify attempts -----------------------------------------------------------


@pytest.mark.attack(
    "verify flood from one address",
    injected="link verifications past the per-address rate",
    happened="429 RATE_LIMITED with Retry-After; another address still served",
)
async def test_verify_attempts_past_the_per_address_cap_are_429_with_retry_after(
    tmp_path: Path,
) -> None:
    env = {"ZENHIRE_VERIFY_PER_ADDRESS_PER_MIN": "3"}
    async with running_stack(tmp_path, gateway_env=env) as stack, AsyncExitStack() as clients:
        flooder = await clients.enter_async_context(_from(FLOODER))
        other = await clients.enter_async_context(_from(OTHER))
        for _ in range(3):
            assert (await _verify(flooder, stack)).status_code == 404
        _assert_limited(await _verify(flooder, stack), "RATE_LIMITED")
        _, token = await stack.create_session()
        assert (await _verify(other, stack, token)).status_code == 200


@pytest.mark.attack(
    "verify flood from many addresses",
    injected="verifications past the replica's rate",
    happened="429 RATE_LIMITED",
)
async def test_verify_attempts_past_the_replicas_cap_are_429(tmp_path: Path) -> None:
    env = {"ZENHIRE_VERIFY_PER_SEC": "1"}  # bursts of 2
    async with running_stack(tmp_path, gateway_env=env) as stack, AsyncExitStack() as clients:
        answers = []
        for address in (FLOODER, OTHER, THIRD):
            client = await clients.enter_async_context(_from(address))
            answers.append(await _verify(client, stack))
        assert [a.status_code for a in answers[:2]] == [404, 404]
        _assert_limited(answers[2], "RATE_LIMITED")


# -- open WebSockets -----------------------------------------------------------


async def _refused_socket(stack: Stack, address: str) -> tuple[dict[str, str], int | None]:
    """The ``error`` event and close code of a WebSocket over a cap."""
    async with websockets.connect(_ws_url(stack), local_addr=(address, 0)) as socket:
        event = json.loads(await asyncio.wait_for(socket.recv(), 5))
        await asyncio.wait_for(socket.wait_closed(), 5)
        return event, socket.close_code


@pytest.mark.attack(
    "socket flood from one address",
    injected="open WebSockets past the per-address cap",
    happened="error CONNECTION_LIMIT, close 1013; other addresses served",
)
async def test_websockets_past_the_per_address_cap_are_closed_1013(tmp_path: Path) -> None:
    env = {"ZENHIRE_WS_PER_ADDRESS": "2"}
    async with running_stack(tmp_path, gateway_env=env) as stack:
        held = [await websockets.connect(_ws_url(stack), local_addr=(FLOODER, 0)) for _ in range(2)]
        event, code = await _refused_socket(stack, FLOODER)
        assert (event["type"], event["code"], code) == ("error", "CONNECTION_LIMIT", 1013)
        async with websockets.connect(_ws_url(stack), local_addr=(OTHER, 0)) as other:
            await other.send(json.dumps({"type": "hello", "ticket": "bad"}))
            answer = json.loads(await asyncio.wait_for(other.recv(), 5))
            assert answer["code"] == "TICKET_INVALID", "another address is not capped"
        await held[0].close()
        await asyncio.sleep(0.2)
        async with websockets.connect(_ws_url(stack), local_addr=(FLOODER, 0)) as again:
            await again.send(json.dumps({"type": "hello", "ticket": "bad"}))
            answer = json.loads(await asyncio.wait_for(again.recv(), 5))
            assert answer["code"] == "TICKET_INVALID", "a closed socket gave its place back"
        await held[1].close()


@pytest.mark.attack(
    "socket flood on the replica",
    injected="open WebSockets past the replica's cap",
    happened="close 1013",
)
async def test_websockets_past_the_replicas_cap_are_closed_1013(tmp_path: Path) -> None:
    env = {"ZENHIRE_WS_MAX": "2"}
    async with running_stack(tmp_path, gateway_env=env) as stack:
        held = [
            await websockets.connect(_ws_url(stack), local_addr=(address, 0))
            for address in (FLOODER, OTHER)
        ]
        event, code = await _refused_socket(stack, THIRD)
        assert (event["code"], code) == ("CONNECTION_LIMIT", 1013)
        for socket in held:
            await socket.close()


# -- WebRTC peers still connecting ----------------------------------------------


@asynccontextmanager
async def _offer() -> AsyncIterator[str]:
    """A real offer SDP (audio and the ``events`` channel) from a peer that never answers."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.createDataChannel("events")
        pc.addTransceiver("audio", direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        yield pc.localDescription.sdp
    finally:
        await pc.close()


async def _post_offer(
    client: httpx.AsyncClient, stack: Stack, ticket: str, sdp: str
) -> httpx.Response:
    body = {"ticket": ticket, "sdp": sdp, "type": "offer"}
    return await client.post(stack.gateway_url + OFFER_PATH, json=body)


@pytest.mark.attack(
    "peers that never complete ICE",
    injected="offers whose peer never connects, past the per-address cap",
    happened="429 CONNECTION_LIMIT with Retry-After",
)
async def test_pending_peers_past_the_per_address_cap_are_429(tmp_path: Path) -> None:
    """Offers whose peer never completes ICE stay pending; past the cap they are refused."""
    env = {"ZENHIRE_PENDING_PEERS_PER_ADDRESS": "2"}
    async with (
        running_stack(tmp_path, gateway_env=env) as stack,
        AsyncExitStack() as clients,
        _offer() as sdp,
    ):
        _, one = await stack.open_candidate(Candidate)
        flooder = await clients.enter_async_context(_from(FLOODER))
        for _ in range(2):
            assert (await _post_offer(flooder, stack, one.ticket, sdp)).status_code == 200
        _assert_limited(await _post_offer(flooder, stack, one.ticket, sdp), "CONNECTION_LIMIT")
        _, two = await stack.open_candidate(Candidate)
        other = await clients.enter_async_context(_from(OTHER))
        assert (await _post_offer(other, stack, two.ticket, sdp)).status_code == 200


@pytest.mark.attack(
    "pending peers on the replica",
    injected="unconnected peers past the replica's cap",
    happened="429 CONNECTION_LIMIT",
)
async def test_pending_peers_past_the_replicas_cap_are_429(tmp_path: Path) -> None:
    env = {"ZENHIRE_PENDING_PEERS_MAX": "2"}
    async with (
        running_stack(tmp_path, gateway_env=env) as stack,
        AsyncExitStack() as clients,
        _offer() as sdp,
    ):
        answers = []
        for address in (FLOODER, OTHER, THIRD):
            _, candidate = await stack.open_candidate(Candidate)
            client = await clients.enter_async_context(_from(address))
            answers.append(await _post_offer(client, stack, candidate.ticket, sdp))
        assert [a.status_code for a in answers[:2]] == [200, 200]
        _assert_limited(answers[2], "CONNECTION_LIMIT")


# -- a flood beside a live interview ---------------------------------------------

FLOOD_ENV = {
    "ZENHIRE_VERIFY_PER_ADDRESS_PER_MIN": "5",
    "ZENHIRE_WS_PER_ADDRESS": "3",
    "ZENHIRE_PENDING_PEERS_PER_ADDRESS": "2",
}


async def _flood(stack: Stack, ticket: str, sdp: str, until: asyncio.Event) -> dict[int, int]:
    """Verify attempts, WebSockets and offers from one address, as fast as it can."""
    statuses: dict[int, int] = {}
    sockets = []
    async with _from(FLOODER) as client:
        while not until.is_set():
            for response in await asyncio.gather(
                _verify(client, stack), _post_offer(client, stack, ticket, sdp)
            ):
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            try:
                sockets.append(await websockets.connect(_ws_url(stack), local_addr=(FLOODER, 0)))
            except (OSError, websockets.InvalidHandshake):
                statuses[-1] = statuses.get(-1, 0) + 1
            await asyncio.sleep(0.01)
    for socket in sockets:
        await socket.close()
    return statuses


@pytest.mark.attack(
    "flood beside a live interview (WebSocket)",
    injected="verify, offer and socket floods from one address during an interview",
    happened="the interview completes; the flood gets 429s; no 5xx",
)
async def test_a_flood_from_one_address_leaves_a_websocket_interview_alone(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path, gateway_env=FLOOD_ENV) as stack, _offer() as sdp:
        _, bait = await stack.open_candidate(Candidate)
        session_id, candidate = await stack.open_candidate(Candidate)
        done = asyncio.Event()
        flooding = asyncio.create_task(_flood(stack, bait.ticket, sdp, done))
        started = time.monotonic()
        try:
            await candidate.interview([], end_after_sec=3.0)
        finally:
            done.set()
            statuses = await flooding
        assert candidate.kinds("live") and candidate.kinds("ended")[-1]["reason"] == "completed"
        assert candidate.close_code == 1000
        assert statuses.get(429, 0) > 5, statuses
        assert not [status for status in statuses if status >= 500], statuses
        assert time.monotonic() - started < 20
        await stack.wait_for_status(session_id, "completed")


@pytest.mark.attack(
    "flood beside a live interview (WebRTC)",
    injected="the same floods during a WebRTC interview",
    happened="the interview completes; no 5xx",
)
async def test_a_flood_from_one_address_leaves_a_webrtc_interview_alone(tmp_path: Path) -> None:
    async with running_stack(tmp_path, gateway_env=FLOOD_ENV) as stack, _offer() as sdp:
        _, bait = await stack.open_candidate(Candidate)
        session_id, candidate = await stack.open_candidate(WebRTCCandidate)
        done = asyncio.Event()
        flooding = asyncio.create_task(_flood(stack, bait.ticket, sdp, done))
        try:
            await candidate.interview(stack.http, [], end_after_sec=3.0)
        finally:
            done.set()
            statuses = await flooding
        assert candidate.kinds("ended")[-1]["reason"] == "completed"
        assert statuses.get(429, 0) > 5, statuses
        assert not [status for status in statuses if status >= 500], statuses
        await stack.wait_for_status(session_id, "completed")

"""Range headers: one byte range is served exactly; anything else is a 4xx, never a 5xx.

A reference model written from RFC 9110 §14 (in decimals, which take any number of digits)
says what each header must get; hypothesis checks the parser against it
and then the real gateway endpoint, through a real uvicorn server.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.s2s.artifacts import recording_key
from tests.recorded import finish_session, noise
from tests.reliability import count_example
from zenhire.loopback.stack import Stack, running_stack
from zenhire.ranges import MAX_HEADER_CHARS, BadRange, Unsatisfiable, parse
from zenhire.signing import Direction, Signer

SPEC = re.compile(r"(?i:bytes)=([0-9]*)-([0-9]*)")
WAV_HEADER_BYTES = 44


def expected(header: str, size: int) -> tuple[int, int, int]:
    """``(status, start, stop)`` (a Python slice) the model gives ``header`` on ``size`` bytes."""
    match = SPEC.fullmatch(header.strip())
    if len(header) > MAX_HEADER_CHARS or match is None:
        return 400, 0, 0
    first, last = (Decimal(group) if group else None for group in match.groups())
    if first is None and last is None:
        return 400, 0, 0
    if first is None:
        assert last is not None
        if last == 0 or size == 0:
            return 416, 0, 0
        return 206, int(max(Decimal(0), size - last)), size
    if last is not None and last < first:
        return 400, 0, 0
    if first >= size:
        return 416, 0, 0
    end = size - 1 if last is None else min(last, Decimal(size - 1))
    return 206, int(first), int(end) + 1


def answered(header: str, size: int) -> tuple[int, int, int]:
    """What `zenhire.ranges` makes of ``header``, in the model's terms."""
    try:
        start, end = parse(header).bounds(size)
    except BadRange:
        return 400, 0, 0
    except Unsatisfiable:
        return 416, 0, 0
    return 206, start, end + 1


positions = st.one_of(
    st.just(""),
    st.integers(0, 5000).map(str),
    st.integers(0, 10**40).map(str),
    st.integers(0, 99).map(lambda n: "0" * n + "7"),
    st.integers(-5000, -1).map(str),
    st.text("0123456789 +-x٣", max_size=8),
)
specs = st.builds(lambda a, b: f"{a}-{b}", positions, positions)
headers = st.one_of(
    st.builds(
        lambda unit, ranges, pad: pad + unit + "=" + ",".join(ranges) + pad,
        st.sampled_from(["bytes", "BYTES", "Bytes", "items", "bytes ", ""]),
        st.lists(specs, min_size=1, max_size=4),
        st.sampled_from(["", " ", "\t"]),
    ),
    # Many commas; positions of thousands of digits; overlong headers.
    st.sampled_from([1, 50, 300]).map(lambda n: "bytes=0-1" + "," * n),
    st.sampled_from([18, 19, 4301, 6000]).map(lambda n: "bytes=" + "9" * n + "-"),
    st.sampled_from([18, 19, 4301]).map(lambda n: "bytes=0-" + "9" * n),
    st.sampled_from([190, 200, 201, 5000]).map(lambda n: "bytes=" + "0" * n + "-1"),
    st.text(max_size=40),
)


@settings(max_examples=3000, deadline=None)
@given(header=headers, size=st.integers(0, 10**7))
@pytest.mark.attack(
    "hostile Range headers",
    injected="several ranges, huge or negative positions, garbage, 500 commas, 6,000 digits",
    happened="206 for one range, 416 past the end, else 400 (a 4,300-digit position was a 500)",
)
def test_the_parser_agrees_with_the_model(header: str, size: int) -> None:
    count_example("Range headers")
    assert answered(header, size) == expected(header, size)


@dataclass
class Served:
    """A recording the gateway serves, and a client to ask for it."""

    gateway_url: str
    path: str
    signer: Signer = field(repr=False)
    wav: bytes = field(repr=False)
    http: httpx.Client = field(repr=False)

    def get(self, range_header: bytes) -> httpx.Response:
        signed = self.signer.headers("GET", self.path, b"")
        headers = [(k.encode(), v.encode()) for k, v in signed.items()]
        return self.http.get(
            self.gateway_url + self.path, headers=[*headers, (b"Range", range_header)]
        )


@contextmanager
def recording_served(tmp_path: Path) -> Iterator[Served]:
    """A gateway (real uvicorn, in a thread of its own) serving one known recording."""
    ready = threading.Event()
    found: list[tuple[Stack, str, bytes]] = []
    stopping: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def run() -> None:
        stop = asyncio.Event()
        async with running_stack(tmp_path) as stack:
            session_id = await finish_session(stack, tmp_path, noise(0.5), {"turns": []})
            wav = stack.gateway_settings.artifacts_dir / recording_key(session_id)
            found.append((stack, session_id, wav.read_bytes()))
            stopping.append((asyncio.get_running_loop(), stop))
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(run(),))
    thread.start()
    try:
        assert ready.wait(30), "the gateway did not start"
        stack, session_id, wav = found[0]
        with httpx.Client(timeout=10) as http:
            yield Served(
                stack.gateway_url,
                f"/s2s/v1/sessions/{session_id}/recording",
                Signer.of(stack.gateway_settings.s2s_secrets, Direction.TO_GATEWAY),
                wav,
                http,
            )
    finally:
        if stopping:
            loop, stop = stopping[0]
            loop.call_soon_threadsafe(stop.set)
        thread.join(30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with recording_served(tmp_path_factory.mktemp("ranges")) as found:
        yield found


def _sendable(header: str) -> bool:
    """What an HTTP/1.1 client can put in a header value: no control characters."""
    return all(c == "\t" or (c >= " " and c != "\x7f") for c in header)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(header=headers.filter(_sendable))
def test_the_gateway_answers_every_range_with_the_models_slice_or_a_4xx(
    served: Served, header: str
) -> None:
    count_example("Range headers over the real gateway")
    # What the server reads: the bytes as latin-1, without the surrounding blanks
    # (which an HTTP/1.1 header value cannot carry).
    raw = header.encode().strip(b" \t")
    response = served.get(raw)
    whole = served.wav
    seen = raw.decode("latin-1")
    if not seen:
        assert response.status_code == 200
        return
    status, start, stop = expected(seen, len(whole))
    assert response.status_code == status, (header, response.text)
    if status == 206:
        assert response.content == whole[start:stop]
        assert response.headers["content-range"] == f"bytes {start}-{stop - 1}/{len(whole)}"
    else:
        assert response.json()["error"]["code"] in ("BAD_RANGE", "RANGE_NOT_SATISFIABLE")
    if status == 416:
        assert response.headers["content-range"] == f"bytes */{len(whole)}"


HOSTILE_RANGES = {
    "bytes=0-1,5-9": 400,  # several ranges
    "bytes=0-99999999999999999999999": 206,  # to the end, however far it says
    "bytes=99999999999999999999999-": 416,
    "bytes=-5-9": 400,  # negative
    "bytes=5-2": 400,  # backwards
    "lines=0-9": 400,  # another unit
    "bytes=a-b": 400,  # garbage
    "bytes=0-1" + "," * 500: 400,  # many commas
    "bytes=" + "0" * 5000 + "-1": 400,  # overlong
    "bytes=" + "9" * 5000 + "-": 400,  # thousands of digits (and overlong)
    "bytes=0-\xe9": 400,  # not ASCII
}


@pytest.mark.attack(
    "hostile Range through the proxy",
    injected="the same headers, and non-ASCII ones, at the control plane",
    happened="4xx (a non-ASCII Range was a 500)",
)
async def test_the_control_planes_recording_proxy_refuses_hostile_ranges_with_a_4xx(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path) as stack:
        session_id = await finish_session(stack, tmp_path, noise(0.5), {"turns": []})
        path = f"{stack.control_url}/api/v1/interview/sessions/{session_id}/recording"
        for query in ("", "?from_ms=0&to_ms=200"):
            for header, status in {**HOSTILE_RANGES, "bytes=0-99": 206}.items():
                raw = [(b"X-API-Key", stack.api_key.encode()), (b"Range", header.encode("latin-1"))]
                response = await stack.http.get(path + query, headers=raw)
                assert response.status_code == status, (header[:40], response.text)
                if status == 206 and header == "bytes=0-99":
                    assert len(response.content) == 100
                elif status != 206:
                    code = response.json()["error"]["code"]
                    assert code in ("BAD_RANGE", "RANGE_NOT_SATISFIABLE"), code

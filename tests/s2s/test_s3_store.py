"""The S3 artifact store (obstore) against a real S3 endpoint: moto's server in its own process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import soundfile

from audio.frames import SAMPLE_RATE
from gateway.errors import ArtifactNotFound, ArtifactStoreUnavailable
from gateway.s2s.artifacts import StoredObject
from gateway.s2s.s3 import S3ArtifactStore
from gateway.session.assembly import assemble, delete_segments
from gateway.session.segments import SegmentName, segments_prefix
from gateway.settings import Settings
from zenhire.loopback.s3 import BUCKET, REGION, TEST_CREDENTIALS, s3_environment, s3_server
from zenhire.loopback.servers import free_port

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with s3_server() as url:
        yield url


def _store(endpoint: str, **extra: str) -> S3ArtifactStore:
    settings = Settings.from_env(s3_environment(endpoint, **extra))
    assert settings.s3 is not None
    return S3ArtifactStore(settings.s3)


async def _read(store: S3ArtifactStore, key: str, start: int, end: int) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, end)])


async def test_a_file_is_stored_sized_and_read_by_ranges(endpoint: str, tmp_path: Path) -> None:
    store = _store(endpoint, ZENHIRE_S3_PREFIX="ranges")
    body = bytes(range(256)) * 1024
    (tmp_path / "recording.wav").write_bytes(body)
    await store.put_file("sessions/s1/recording.wav", tmp_path / "recording.wav")
    assert await store.size("sessions/s1/recording.wav") == len(body)
    assert await _read(store, "sessions/s1/recording.wav", 0, 99) == body[:100]
    assert await _read(store, "sessions/s1/recording.wav", 200_000, len(body) - 1) == body[200_000:]
    # The prefix is a folder of the bucket.
    assert await _store(endpoint).size("ranges/sessions/s1/recording.wav") == len(body)


async def test_listing_and_deleting_under_a_prefix(endpoint: str) -> None:
    store = _store(endpoint, ZENHIRE_S3_PREFIX="listing")
    for name in ("b", "a"):
        await store.put_bytes(f"sessions/s2/segments/{name}.pcm", b"1234")
    await store.put_bytes("sessions/s22/segments/c.pcm", b"12")
    assert await store.list("sessions/s2/segments/") == [
        StoredObject("sessions/s2/segments/a.pcm", 4),
        StoredObject("sessions/s2/segments/b.pcm", 4),
    ]
    assert await store.delete("sessions/s2/segments/a.pcm") is True
    assert await store.delete("sessions/s2/segments/a.pcm") is False
    with pytest.raises(ArtifactNotFound):
        await store.size("sessions/s2/segments/a.pcm")


async def test_objects_are_stored_with_the_configured_encryption(endpoint: str) -> None:
    store = _store(endpoint, ZENHIRE_S3_PREFIX="sse", ZENHIRE_S3_SSE="AES256")
    await store.put_bytes("sessions/s3/transcript.json", b"{}")
    # A second, independent S3 client (boto3) reads what the object was stored with.
    head = await asyncio.to_thread(_head, endpoint, "sse/sessions/s3/transcript.json")
    assert head["ServerSideEncryption"] == "AES256"


def _head(endpoint: str, key: str) -> dict[str, Any]:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    found: dict[str, Any] = client.head_object(Bucket=BUCKET, Key=key)
    return found


async def test_an_unreachable_store_is_unavailable_not_missing() -> None:
    store = _store(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ArtifactStoreUnavailable):
        await store.size("sessions/s4/recording.wav")
    with pytest.raises(ArtifactStoreUnavailable):
        await store.put_bytes("sessions/s4/segments/x.pcm", b"1234")


async def test_segments_of_two_writers_assemble_on_the_timeline(
    endpoint: str, tmp_path: Path
) -> None:
    """A takeover as the contract has it: epoch 2 starts inside epoch 1's last
    segment, after a gap; the higher epoch wins, the gap is silence."""
    store = _store(endpoint, ZENHIRE_S3_PREFIX="assembly")
    session_id = "3d1f6a2b-takeover"

    def tone(value: int, samples: int) -> bytes:
        return np.full((samples, 2), value, dtype="<i2").tobytes()

    written = [
        (SegmentName(1, 0, 0), tone(1, 1000)),
        (SegmentName(1, 1, 1000), tone(2, 1000)),  # samples 1000..2000
        (SegmentName(2, 0, 1500), tone(3, 500)),  # overlaps epoch 1 from 1500
        (SegmentName(2, 1, 2600), tone(4, 400)),  # after a gap of 600 samples
    ]
    for name, body in written:
        await store.put_bytes(name.key(session_id), body)

    duration_ms = await assemble(store, session_id, tmp_path / "assembled.wav")
    samples, rate = soundfile.read(tmp_path / "assembled.wav", dtype="int16")
    assert rate == SAMPLE_RATE and samples.shape == (3000, 2)
    assert duration_ms == 3000 * 1000 // SAMPLE_RATE
    left = samples[:, 0]
    expected = np.concatenate(
        [np.full(1000, 1), np.full(500, 2), np.full(500, 3), np.zeros(600), np.full(400, 4)]
    )
    assert np.array_equal(left, expected)
    assert await delete_segments(store, session_id) == 4
    assert await store.list(segments_prefix(session_id)) == []

"""The S3 artifact store (obstore) against a real S3 endpoint: moto's server in its own process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from gateway.errors import ArtifactNotFound, ArtifactStoreUnavailable
from gateway.s2s.artifacts import StoredObject
from gateway.s2s.s3 import S3ArtifactStore
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

"""Artifacts on S3 (or any S3-compatible endpoint), through obstore.

obstore (Rust's ``object_store`` under a typed asyncio API) was chosen over
aiobotocore; docs/architecture.md ("Artifacts on S3") says why. Every call is
one request with a short retry budget of its own (`REQUEST_RETRIES`): the
callers hold the longer retry loops (the segment shipper, the outbox), and a
control plane fetching a recording should hear ``503`` quickly rather than
wait minutes.

Foreign errors are translated here, once: a missing key is `ArtifactNotFound`,
anything else the store answers or fails with is `ArtifactStoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import obstore
from obstore.store import S3Store

from gateway.errors import ArtifactNotFound, ArtifactStoreUnavailable
from gateway.s2s.artifacts import READ_CHUNK_BYTES, StoredObject
from gateway.settings import S3Settings

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

CONNECT_TIMEOUT = "2s"
# One request, body included: a 10 s segment is about 1 MB.
REQUEST_TIMEOUT = "30s"
REQUEST_RETRIES = 2
REQUEST_RETRY_BUDGET = timedelta(seconds=5)
# Finished recordings go up in parts of this size (S3's minimum is 5 MiB).
MULTIPART_CHUNK_BYTES = 8 * 1024 * 1024
MULTIPART_CONCURRENCY = 4


def s3_config(settings: S3Settings) -> S3Config:
    """obstore's configuration from ours; unset values fall back to obstore's own
    reading of the standard AWS variables (and the instance's credentials)."""
    config: S3Config = {}
    if settings.region:
        config["region"] = settings.region
    if settings.endpoint_url:
        config["endpoint"] = settings.endpoint_url
    if settings.access_key_id and settings.secret_access_key:
        config["access_key_id"] = settings.access_key_id
        config["secret_access_key"] = settings.secret_access_key
        if settings.session_token:
            config["session_token"] = settings.session_token
    if settings.sse:
        config["server_side_encryption"] = settings.sse
    if settings.sse_kms_key_id:
        config["sse_kms_key_id"] = settings.sse_kms_key_id
    return config


class S3ArtifactStore:
    kind = "s3"

    def __init__(self, settings: S3Settings) -> None:
        client: ClientConfig = {
            "connect_timeout": CONNECT_TIMEOUT,
            "timeout": REQUEST_TIMEOUT,
            "allow_http": (settings.endpoint_url or "").startswith("http://"),
        }
        retry: RetryConfig = {
            "max_retries": REQUEST_RETRIES,
            "retry_timeout": REQUEST_RETRY_BUDGET,
        }
        self._store = S3Store(
            settings.bucket,
            prefix=settings.prefix or None,
            config=s3_config(settings),
            client_options=client,
            retry_config=retry,
        )

    async def put_file(self, key: str, source: Path) -> None:
        try:
            await obstore.put_async(
                self._store,
                key,
                source,
                chunk_size=MULTIPART_CHUNK_BYTES,
                max_concurrency=MULTIPART_CONCURRENCY,
            )
        except Exception as exc:
            raise _translated(exc, key) from exc

    async def put_bytes(self, key: str, data: bytes) -> None:
        try:
            await obstore.put_async(self._store, key, data, use_multipart=False)
        except Exception as exc:
            raise _translated(exc, key) from exc

    async def size(self, key: str) -> int:
        try:
            meta = await obstore.head_async(self._store, key)
        except Exception as exc:
            raise _translated(exc, key) from exc
        return meta["size"]

    async def list(self, prefix: str) -> list[StoredObject]:
        found: list[StoredObject] = []
        try:
            async for chunk in obstore.list(self._store, prefix):
                found.extend(StoredObject(meta["path"], meta["size"]) for meta in chunk)
        except Exception as exc:
            raise _translated(exc, prefix) from exc
        return sorted(found, key=lambda item: item.key)

    async def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        try:
            result = await obstore.get_async(self._store, key, options={"range": (start, end + 1)})
            async for chunk in result.stream(min_chunk_size=READ_CHUNK_BYTES):
                yield bytes(chunk)
        except Exception as exc:
            raise _translated(exc, key) from exc

    async def delete(self, key: str) -> bool:
        try:
            await obstore.head_async(self._store, key)
        except FileNotFoundError:
            return False
        except Exception as exc:
            raise _translated(exc, key) from exc
        try:
            await obstore.delete_async(self._store, key)
        except Exception as exc:
            raise _translated(exc, key) from exc
        return True


def _translated(exc: Exception, key: str) -> Exception:
    # obstore raises the builtin FileNotFoundError for a missing key, and its own
    # errors (obstore.exceptions.BaseError) for everything else.
    if isinstance(exc, FileNotFoundError):
        return ArtifactNotFound(key)
    return ArtifactStoreUnavailable(f"the artifact store failed on {key!r}: {type(exc).__name__}")

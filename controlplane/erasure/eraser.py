"""The worker that carries out deletions: the gateway erases, the control plane records.

For each pending deletion it sends the gateway a signed
``DELETE /s2s/v1/sessions/{id}/artifacts`` (docs/s2s.md). A ``200`` lists
what the gateway deleted and where; ``404`` means it holds nothing for the
session, which completes the deletion with an empty list. Anything else (or
no answer) is retried per the `RetryPolicy`; when the schedule runs out the
deletion is ``failed``. Completing clears the session's artifact keys, stores
the receipt and fires ``session.artifacts_deleted``, in one transaction.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from datetime import timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from controlplane.clock import format_timestamp, parse_timestamp, utc_now
from controlplane.erasure.deletions import Deletion, Deletions
from controlplane.settings import Settings
from controlplane.store import Store
from controlplane.views import session_json
from controlplane.webhooks.dispatcher import Dispatcher
from controlplane.webhooks.outbox import Outbox, WebhookEvent, event_body
from controlplane.webhooks.retry import RetryPolicy
from zenhire.signing import Signer

log = logging.getLogger(__name__)

ARTIFACTS_PATH = "/s2s/v1/sessions/{session_id}/artifacts"
IDLE_POLL_SEC = 30.0
ERROR_PAUSE_SEC = 1.0
MAX_ERROR_CHARS = 200


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore")
    artifact: str
    key: str
    store: str


class _GatewayReceipt(BaseModel):
    model_config = ConfigDict(extra="ignore")
    deleted: list[_Item]
    deleted_at: str | None = None


class GatewayRefused(Exception):
    """The gateway's answer to a delete was not a receipt; the message says what it was."""


class Eraser:
    """Runs deletions until cancelled; `wake` after requesting one."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        dispatcher: Dispatcher,
        http: httpx.AsyncClient,
        signer: Signer,
        settings: Settings,
        policy: RetryPolicy,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._deletions = Deletions(store)
        self._outbox = outbox
        self._dispatcher = dispatcher
        self._http = http
        self._signer = signer
        self._settings = settings
        self._policy = policy
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            wait = IDLE_POLL_SEC
            try:
                for deletion in self._deletions.due(format_timestamp(utc_now())):
                    await self._process(deletion)
                wait = self._seconds_to_next_due()
            except Exception:
                log.exception("erasure poll failed")
                wait = ERROR_PAUSE_SEC
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _seconds_to_next_due(self) -> float:
        due = self._deletions.next_due_at()
        if due is None:
            return IDLE_POLL_SEC
        return min(IDLE_POLL_SEC, max(0.0, (parse_timestamp(due) - utc_now()).total_seconds()))

    async def _process(self, deletion: Deletion) -> None:
        try:
            items = await self._delete_on_gateway(deletion.session_id)
        except GatewayRefused as exc:
            self._retry_or_fail(deletion, str(exc))
            return
        self._complete(deletion, items)

    async def _delete_on_gateway(self, session_id: str) -> list[dict[str, Any]]:
        path = ARTIFACTS_PATH.format(session_id=session_id)
        headers = self._signer.headers("DELETE", path, b"")
        try:
            response = await self._http.delete(
                self._settings.gateway_s2s_url + path, headers=headers
            )
        except httpx.HTTPError as exc:
            raise GatewayRefused(f"gateway unreachable: {type(exc).__name__}") from exc
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise GatewayRefused(f"gateway answered {response.status_code}")
        try:
            receipt = _GatewayReceipt.model_validate_json(response.content)
        except ValidationError as exc:
            raise GatewayRefused("gateway answered an unexpected body") from exc
        at = receipt.deleted_at
        return [
            {
                "artifact": i.artifact,
                "key": i.key,
                "location": f"gateway:{i.store}",
                "deleted_at": at,
            }
            for i in receipt.deleted
        ]

    def _retry_or_fail(self, deletion: Deletion, error: str) -> None:
        now = utc_now()
        age = (now - parse_timestamp(deletion.requested_at)).total_seconds()
        delay = self._policy.next_delay(deletion.attempts + 1, age, self._rng)
        error = error[:MAX_ERROR_CHARS]
        if delay is None:
            self._deletions.fail(deletion, error)
            log.error("erasure gave up", extra={"deletion_id": deletion.id, "error": error})
            return
        self._deletions.retry_later(
            deletion, format_timestamp(now + timedelta(seconds=delay)), error
        )
        log.warning("erasure attempt failed", extra={"deletion_id": deletion.id, "error": error})

    def _complete(self, deletion: Deletion, items: list[dict[str, Any]]) -> None:
        now = format_timestamp(utc_now())
        with self._store.transaction():
            session = self._store.session(deletion.session_id)
            assert session is not None, "foreign keys guarantee it"
            cleared = dataclasses.replace(session, recording_key=None, transcript_key=None)
            self._store.save_session(cleared)
            receipt = {
                "session_id": session.id,
                "reason": deletion.reason.value,
                "requested_at": deletion.requested_at,
                "completed_at": now,
                "items": items,
                "control_plane": {
                    "cleared": ["recording_key", "transcript_key"],
                    "kept": ["session record", "billing record"],
                },
            }
            self._deletions.complete(deletion, now, receipt)
            event = WebhookEvent.ARTIFACTS_DELETED
            self._outbox.enqueue(
                session.client_id, event, event_body(event, session_json(cleared), now), now
            )
        self._dispatcher.wake()
        log.info("artifacts erased", extra={"deletion_id": deletion.id, "items": len(items)})

"""One connection to the fake realtime endpoint: the client events it handles.

See `zenhire.fake_realtime.server` for the whole picture. Event names and shapes
follow the OpenAI Realtime GA reference; `Cues.beta_names` switches the
audio, transcript and item events to their beta names.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from websockets.asyncio.server import ServerConnection

from zenhire.fake_realtime.checks import item_problems, session_problems
from zenhire.fake_realtime.connection import Connection
from zenhire.fake_realtime.conversation import Conversation, question_ids
from zenhire.fake_realtime.host import Host
from zenhire.fake_realtime.outbox import Outbox
from zenhire.fake_realtime.pcm import decode_pcm
from zenhire.fake_realtime.responder import Responder
from zenhire.fake_realtime.script import ASK_TOOL, placeholder_transcript
from zenhire.fake_realtime.vad import SpeechStarted, SpeechStopped, VoiceDetector
from zenhire.tasks import TaskGroup

SESSION_EXPIRED = "Your session hit the maximum duration of 60 minutes."
# Semantic VAD waits longer for more after a pause the lower its eagerness;
# here that is the server VAD's silence scaled by this factor.
EAGERNESS_SILENCE = {"low": 2.0, "medium": 1.0, "auto": 1.0, "high": 0.5}


class FakeSession:
    """Serves one connection until it closes or `Cues.max_session_sec` ends it.

    It checks every client event into ``record``, hears the candidate through a
    `VoiceDetector` (server VAD, or semantic VAD whose patience follows its
    eagerness) and runs at most one `Responder` response at a time, which the
    candidate's speech interrupts unless ``interrupt_response`` is off, and
    which ``response.cancel`` stops. A subclass may replace `_session_update`,
    `_append` (what it hears) and `_stream` (what it says).
    """

    def __init__(self, host: Host, socket: ServerConnection, record: Connection) -> None:
        cues = host.cues
        self._host = host
        self._cues = cues
        self._socket = socket
        self._record = record
        self._said_before = list(host.said)
        self._conversation = Conversation()
        self._outbox = Outbox(socket, host.new_id, beta_names=cues.beta_names)
        self._responder = Responder(host, self._outbox, self._conversation)
        self._detector = VoiceDetector(cues.vad_threshold, cues.vad_start_ms, cues.vad_silence_ms)
        self._speech_item: str | None = None
        self._interrupt_response = True
        self._create_response = True
        self._response: asyncio.Task[None] | None = None
        self._group: TaskGroup | None = None

    async def run(self) -> None:
        async with TaskGroup() as group:
            self._group = group
            limit = group.create_task(self._limit())
            try:
                await self._send(
                    {
                        "type": "session.created",
                        "session": {"type": "realtime", "id": self._host.new_id("sess")},
                    }
                )
                async for message in self._socket:
                    await self._receive(json.loads(message))
            except websockets.ConnectionClosed:
                pass
            finally:
                limit.cancel()
                if self._response is not None:
                    self._response.cancel()

    async def _limit(self) -> None:
        await asyncio.sleep(self._cues.max_session_sec)
        self._record.closed_by_limit = True
        await self._error("invalid_request_error", "session_expired", SESSION_EXPIRED)
        await self._socket.close()

    async def _receive(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "session.update":
            await self._session_update(event.get("session") or {})
        elif kind == "input_audio_buffer.append":
            await self._append(event.get("audio"))
        elif kind == "conversation.item.create":
            await self._item_create(event.get("item") or {})
        elif kind == "conversation.item.truncate":
            await self._truncate(event)
        elif kind == "response.create":
            await self._response_create()
        elif kind == "response.cancel":
            await self._response_cancel()
        elif kind == "conversation.item.delete":
            await self._item_delete(str(event.get("item_id")))
        else:
            self._record.violations.append(f"unknown client event {kind!r}")
            await self._error("invalid_request_error", "unknown_event", f"Unknown {kind!r}")

    async def _session_update(self, session: dict[str, Any]) -> None:
        problems = session_problems(session)
        self._record.violations.extend(problems)
        if problems:
            await self._error("invalid_request_error", "invalid_value", "; ".join(problems))
            return
        self._record.session = session
        detection = session["audio"]["input"]["turn_detection"]
        self._interrupt_response = detection.get("interrupt_response", True)
        self._create_response = detection.get("create_response", True)
        factor = 1.0
        if detection["type"] == "semantic_vad":
            factor = EAGERNESS_SILENCE[detection.get("eagerness", "auto")]
        self._detector.silence_ms = round(self._cues.vad_silence_ms * factor)
        self._conversation.question_ids = question_ids(session, ASK_TOOL)
        await self._send({"type": "session.updated", "session": session})

    async def _append(self, audio: object) -> None:
        if self._record.session is None:
            self._record.violations.append("audio appended before session.update")
        try:
            pcm = decode_pcm(audio)
        except ValueError as exc:
            self._record.violations.append(str(exc))
            await self._error("invalid_request_error", "invalid_value", str(exc))
            return
        self._record.appended_samples += len(pcm) // 2
        for turn in self._detector.feed(pcm):
            if isinstance(turn, SpeechStarted):
                await self._speech_started(turn)
            else:
                await self._speech_stopped(turn)

    async def _speech_started(self, turn: SpeechStarted) -> None:
        self._speech_item = self._host.new_id("item")
        await self._send(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": turn.audio_start_ms,
                "item_id": self._speech_item,
            }
        )
        if self._interrupt_response:
            await self._stop_response()

    async def _stop_response(self) -> bool:
        """Cancel the response in progress (it ends ``cancelled``); False if there is none."""
        if self._response is None or self._response.done():
            return False
        self._response.cancel()
        await asyncio.wait([self._response])
        return True

    async def _response_cancel(self) -> None:
        self._record.cancels += 1
        if not await self._stop_response():
            await self._error(
                "invalid_request_error",
                "response_cancel_not_active",
                "Cancellation failed: no active response found.",
            )

    async def _item_delete(self, item_id: str) -> None:
        items = self._conversation.items
        found = [item for item in items if item.get("id") == item_id]
        if not found:
            self._record.violations.append(f"deleted unknown item {item_id!r}")
            await self._error("invalid_request_error", "item_not_found", f"No item {item_id!r}")
            return
        items.remove(found[0])
        for part in found[0].get("content") or []:
            said = part.get("transcript") if isinstance(part, dict) else None
            if said in self._host.said:
                self._host.said.remove(said)
        self._record.deleted.append(item_id)
        await self._send({"type": "conversation.item.deleted", "item_id": item_id})

    async def _speech_stopped(self, turn: SpeechStopped) -> None:
        """Commit the speech as a user item, "transcribe" it and answer (server VAD's
        ``create_response``)."""
        item_id, self._speech_item = self._speech_item, None
        assert item_id is not None
        await self._send(
            {
                "type": "input_audio_buffer.speech_stopped",
                "audio_end_ms": turn.audio_end_ms,
                "item_id": item_id,
            }
        )
        await self._send(
            {
                "type": "input_audio_buffer.committed",
                "item_id": item_id,
                "previous_item_id": self._conversation.last_id,
            }
        )
        item: dict[str, Any] = {
            "id": item_id,
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        items = self._conversation.items
        items.append(item)
        await self._send({"type": self._name("conversation.item.added"), "item": item})
        answers = sum(1 for it in items if it.get("role") == "user")
        seconds = (turn.audio_end_ms - turn.audio_start_ms) / 1000
        transcript = placeholder_transcript(answers, seconds)
        base = {"item_id": item_id, "content_index": 0}
        for word in transcript.split(" "):
            await self._send(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    **base,
                    "delta": word + " ",
                }
            )
        await self._send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                **base,
                "transcript": transcript,
            }
        )
        item["content"][0]["transcript"] = transcript
        self._host.said.append(transcript)
        if self._create_response:
            await self._response_create()

    async def _item_create(self, item: dict[str, Any]) -> None:
        self._record.items_created.append(item)
        item = {**item, "id": item.get("id") or self._host.new_id("item"), "status": "completed"}
        if item.get("type") == "function_call_output":
            self._record.function_outputs.append(str(item.get("call_id")))
        self._record.violations.extend(item_problems(item))
        previous = self._conversation.last_id
        self._conversation.items.append(item)
        await self._send(
            {
                "type": self._name("conversation.item.added"),
                "previous_item_id": previous,
                "item": item,
            }
        )
        await self._send({"type": "conversation.item.done", "item": item})

    async def _truncate(self, event: dict[str, Any]) -> None:
        item_id, end_ms = event.get("item_id"), event.get("audio_end_ms")
        sent_ms = self._conversation.audio_ms.get(str(item_id))
        self._record.truncates.append({**event, "sent_ms": sent_ms})
        if sent_ms is None or not isinstance(end_ms, int) or not 0 <= end_ms <= sent_ms:
            self._record.violations.append(f"bad truncate {event!r} (sent {sent_ms} ms)")
            await self._error("invalid_request_error", "invalid_value", "audio_end_ms is too long")
            return
        await self._send(
            {
                "type": "conversation.item.truncated",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": end_ms,
            }
        )

    async def _response_create(self) -> None:
        if self._response is not None and not self._response.done():
            await self._error(
                "invalid_request_error",
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress.",
            )
            return
        if self._record.restore_missing is None:
            texts = " ".join(self._record.texts_created)
            self._record.restore_missing = [s for s in self._said_before if s not in texts]
        self._host.responses += 1
        assert self._group is not None
        respond = self._responder.respond(self._host.responses, self._stream)
        self._response = self._group.create_task(respond)

    async def _stream(self, response_id: str, item_id: str, text: str, fault: str | None) -> bool:
        """Stream the spoken item; False if a fault cut it off."""
        return await self._responder.stream(response_id, item_id, text, fault)

    async def _error(self, kind: str, code: str, message: str) -> None:
        await self._outbox.error(kind, code, message)

    def _name(self, name: str) -> str:
        return self._outbox.name(name)

    async def _send(self, event: dict[str, Any]) -> None:
        await self._outbox.send(event)

"""One connection to the fake realtime endpoint: what it checks, hears and says.

See `zenhire.fake_realtime.server` for the whole picture. Event names and shapes
follow the OpenAI Realtime GA reference; `Cues.beta_names` switches the
audio, transcript and item events to their beta names.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import websockets
from websockets.asyncio.server import ServerConnection

RATE = 24_000
WINDOW_MS = 20
WINDOW_SAMPLES = RATE * WINDOW_MS // 1000
BYTES_PER_MS = RATE * 2 // 1000
PCM_FORMAT = {"type": "audio/pcm", "rate": RATE}
END_TOOL = "end_interview"
GREETING = "Hello, and welcome to this interview. Let us begin."
QUESTIONS = (
    "Tell me about a project you are proud of.",
    "How do you handle a production incident?",
    "What do you look for in a code review?",
    "Describe a hard technical decision you made.",
    "How do you keep learning?",
)
CLOSING = "Thank you for your answers. This concludes our interview. Goodbye."
WRAP_UP_WORDS = "wrap up"
BETA_NAMES = {
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "conversation.item.added": "conversation.item.created",
}
FAULTS = ("drop", "error", "rate_limit", "silent")
FAULT_AFTER_DELTAS = 2
SESSION_EXPIRED = "Your session hit the maximum duration of 60 minutes."


@dataclass(frozen=True)
class Cues:
    """How the fake behaves. ``faults`` maps a response number (1-based, counted
    over all connections) to one of `FAULTS`; ``refuse_first`` refuses that many
    handshakes, ``refuse_from`` every handshake from that attempt number on."""

    api_key: str | None = None
    questions: int = 2
    pace: float = 2.0
    delta_ms: int = 100
    words_per_minute: int = 210
    vad_threshold: float = 300.0
    vad_start_ms: int = 60
    vad_silence_ms: int = 500
    max_session_sec: float = 3600.0
    refuse_first: int = 0
    refuse_from: int | None = None
    faults: dict[int, str] = field(default_factory=dict)
    beta_names: bool = False
    record_audio: bool = False


@dataclass
class Connection:
    """What one connection received, and what the fake found wrong with it."""

    number: int
    model: str | None = None
    session: dict[str, Any] | None = None
    appended_samples: int = 0
    items_created: list[dict[str, Any]] = field(default_factory=list)
    truncates: list[dict[str, Any]] = field(default_factory=list)
    function_outputs: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    restore_missing: list[str] | None = None
    closed_by_limit: bool = False

    @property
    def texts_created(self) -> list[str]:
        return [text for item in self.items_created if (text := text_of(item))]


class Host(Protocol):
    """What a connection shares with the whole fake endpoint."""

    cues: Cues
    responses: int
    said: list[str]
    audio: dict[str, bytes]

    def new_id(self, prefix: str) -> str: ...

    async def speech(self, text: str) -> bytes: ...


class FakeSession:
    def __init__(self, host: Host, socket: ServerConnection, record: Connection) -> None:
        self._host = host
        self._cues = host.cues
        self._socket = socket
        self._record = record
        self._said_before = list(host.said)
        self._items: list[dict[str, Any]] = []
        self._audio_ms: dict[str, int] = {}
        self._response: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        # Server VAD over the appended audio.
        self._position_ms = 0
        self._carry = b""
        self._voiced_ms = 0
        self._silent_ms = 0
        self._speech_item: str | None = None
        self._speech_start_ms = 0
        self._last_voiced_ms = 0

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
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

    # -- client events --------------------------------------------------------

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
        pcm, self._carry = self._carry + pcm, b""
        whole = len(pcm) - len(pcm) % (WINDOW_SAMPLES * 2)
        self._carry = pcm[whole:]
        for rms in pcm_rms_windows(pcm[:whole]):
            await self._vad(rms >= self._cues.vad_threshold)
            self._position_ms += WINDOW_MS

    async def _vad(self, voiced: bool) -> None:
        cues = self._cues
        if voiced:
            self._voiced_ms += WINDOW_MS
            self._silent_ms = 0
            self._last_voiced_ms = self._position_ms + WINDOW_MS
            if self._speech_item is None and self._voiced_ms >= cues.vad_start_ms:
                await self._speech_started()
            return
        self._voiced_ms = 0
        self._silent_ms += WINDOW_MS
        if self._speech_item is not None and self._silent_ms >= cues.vad_silence_ms:
            await self._speech_stopped()

    async def _speech_started(self) -> None:
        self._speech_item = self._host.new_id("item")
        self._speech_start_ms = self._position_ms + WINDOW_MS - self._cues.vad_start_ms
        await self._send(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": self._speech_start_ms,
                "item_id": self._speech_item,
            }
        )
        if self._response is not None and not self._response.done():
            self._response.cancel()  # interrupt_response: the response stops here
            await asyncio.wait([self._response])

    async def _speech_stopped(self) -> None:
        item_id, self._speech_item = self._speech_item, None
        assert item_id is not None
        end_ms = self._last_voiced_ms
        await self._send(
            {
                "type": "input_audio_buffer.speech_stopped",
                "audio_end_ms": end_ms,
                "item_id": item_id,
            }
        )
        previous = self._items[-1]["id"] if self._items else None
        await self._send(
            {
                "type": "input_audio_buffer.committed",
                "item_id": item_id,
                "previous_item_id": previous,
            }
        )
        item: dict[str, Any] = {
            "id": item_id,
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self._items.append(item)
        await self._send({"type": self._name("conversation.item.added"), "item": item})
        answers = sum(1 for it in self._items if it.get("role") == "user")
        seconds = (end_ms - self._speech_start_ms) / 1000
        transcript = f"My answer number {answers} took {seconds:.1f} seconds."
        for word in transcript.split(" "):
            await self._send(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    "item_id": item_id,
                    "content_index": 0,
                    "delta": word + " ",
                }
            )
        await self._send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": transcript,
            }
        )
        item["content"][0]["transcript"] = transcript
        self._host.said.append(transcript)
        await self._response_create()  # server VAD's create_response

    async def _item_create(self, item: dict[str, Any]) -> None:
        self._record.items_created.append(item)
        item = {**item, "id": item.get("id") or self._host.new_id("item"), "status": "completed"}
        if item.get("type") == "function_call_output":
            self._record.function_outputs.append(str(item.get("call_id")))
        elif item.get("type") != "message" or item.get("role") not in (
            "system",
            "user",
            "assistant",
        ):
            self._record.violations.append(f"unexpected item {item!r}")
        elif item.get("role") == "assistant" and any(
            part.get("type") != "output_text" for part in item.get("content") or []
        ):
            self._record.violations.append("assistant text items must be output_text")
        previous = self._items[-1]["id"] if self._items else None
        self._items.append(item)
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
        sent_ms = self._audio_ms.get(str(item_id))
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
        self._response = self._group.create_task(self._respond(self._host.responses))

    # -- the model ------------------------------------------------------------

    def _next_words(self) -> tuple[str, bool]:
        """What to say next, and whether to end the interview after it."""
        messages = [item for item in self._items if item.get("type") == "message"]
        answers = sum(1 for item in messages if item.get("role") == "user")
        asked = any(item.get("role") == "assistant" for item in messages)
        wrap = any(
            item.get("role") == "system" and WRAP_UP_WORDS in text_of(item).lower()
            for item in messages
        )
        if wrap or answers >= self._cues.questions:
            return CLOSING, True
        if not asked:
            return f"{GREETING} {QUESTIONS[0]}", False
        return QUESTIONS[min(answers, len(QUESTIONS) - 1)], False

    async def _respond(self, number: int) -> None:
        fault = self._cues.faults.get(number)
        if fault == "silent":
            return
        # The gateway may go away mid-response.
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._respond_with(fault)

    async def _respond_with(self, fault: str | None) -> None:
        response_id, item_id = self._host.new_id("resp"), self._host.new_id("item")
        text, ending = self._next_words()
        await self._send(
            {
                "type": "response.created",
                "response": {"id": response_id, "status": "in_progress", "output": []},
            }
        )
        if fault == "rate_limit":
            await self._send(
                {
                    "type": "rate_limits.updated",
                    "rate_limits": [
                        {"name": "tokens", "limit": 1000, "remaining": 0, "reset_seconds": 0.2}
                    ],
                }
            )
            await self._error("invalid_request_error", "rate_limit_exceeded", "Rate limit hit.")
            await self._done(response_id, "failed", [])
            return
        item = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress"}
        self._items.append({**item, "content": [{"type": "output_text", "text": text}]})
        await self._send(
            {
                "type": "response.output_item.added",
                "response_id": response_id,
                "output_index": 0,
                "item": {**item, "content": []},
            }
        )
        await self._send({"type": self._name("conversation.item.added"), "item": item})
        try:
            if not await self._stream(response_id, item_id, text, fault):
                return
        except asyncio.CancelledError:
            # Interrupted by the candidate's speech: the response ends here.
            await self._done_quietly(response_id)
            raise
        output: list[dict[str, Any]] = [{**item, "status": "completed"}]
        if ending:
            output.append(await self._call_end(response_id))
        await self._done(response_id, "completed", output)
        self._host.said.append(text)

    async def _stream(self, response_id: str, item_id: str, text: str, fault: str | None) -> bool:
        """Stream the spoken item; False if a fault cut it off."""
        cues = self._cues
        pcm = await self._host.speech(text)
        chunk = cues.delta_ms * BYTES_PER_MS
        chunks = [pcm[i : i + chunk] for i in range(0, len(pcm), chunk)]
        words = text.split(" ")
        base = {"response_id": response_id, "item_id": item_id, "output_index": 0}
        sent_words = 0
        self._audio_ms[item_id] = 0
        for index, audio in enumerate(chunks):
            if fault in ("drop", "error") and index == FAULT_AFTER_DELTAS:
                await self._fault(fault, response_id)
                return False
            due = round(len(words) * (index + 1) / len(chunks))
            if due > sent_words:
                delta = " ".join(words[sent_words:due]) + ("" if due == len(words) else " ")
                await self._send(
                    {
                        "type": self._name("response.output_audio_transcript.delta"),
                        **base,
                        "content_index": 0,
                        "delta": delta,
                    }
                )
                sent_words = due
            await self._send(
                {
                    "type": self._name("response.output_audio.delta"),
                    **base,
                    "content_index": 0,
                    "delta": base64.b64encode(audio).decode("ascii"),
                }
            )
            self._audio_ms[item_id] += len(audio) // BYTES_PER_MS
            if cues.record_audio:
                self._host.audio[item_id] = self._host.audio.get(item_id, b"") + audio
            await asyncio.sleep(cues.delta_ms / 1000 / cues.pace)
        await self._send({"type": self._name("response.output_audio.done"), **base})
        await self._send(
            {
                "type": self._name("response.output_audio_transcript.done"),
                **base,
                "content_index": 0,
                "transcript": text,
            }
        )
        await self._send({"type": "response.output_item.done", **base})
        return True

    async def _fault(self, fault: str, response_id: str) -> None:
        if fault == "drop":
            self._socket.transport.abort()
            return
        await self._error("server_error", "server_error", "The server had an error.")
        await self._done(response_id, "failed", [])

    async def _call_end(self, response_id: str) -> dict[str, Any]:
        call_id, item_id = self._host.new_id("call"), self._host.new_id("item")
        call = {
            "id": item_id,
            "type": "function_call",
            "status": "completed",
            "name": END_TOOL,
            "call_id": call_id,
            "arguments": "{}",
        }
        base = {"response_id": response_id, "item_id": item_id, "output_index": 1}
        await self._send({"type": "response.output_item.added", **base, "item": call})
        await self._send(
            {
                "type": "response.function_call_arguments.delta",
                **base,
                "call_id": call_id,
                "delta": "{}",
            }
        )
        await self._send(
            {
                "type": "response.function_call_arguments.done",
                **base,
                "call_id": call_id,
                "name": END_TOOL,
                "arguments": "{}",
            }
        )
        await self._send({"type": "response.output_item.done", **base, "item": call})
        return call

    async def _done(self, response_id: str, status: str, output: list[dict[str, Any]]) -> None:
        await self._send(
            {
                "type": "response.done",
                "response": {"id": response_id, "status": status, "output": output},
            }
        )

    async def _done_quietly(self, response_id: str) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._done(response_id, "cancelled", [])

    async def _error(self, kind: str, code: str, message: str) -> None:
        await self._send(
            {"type": "error", "error": {"type": kind, "code": code, "message": message}}
        )

    def _name(self, name: str) -> str:
        return BETA_NAMES.get(name, name) if self._cues.beta_names else name

    async def _send(self, event: dict[str, Any]) -> None:
        await self._socket.send(json.dumps({"event_id": self._host.new_id("event"), **event}))


def session_problems(session: dict[str, Any]) -> list[str]:
    """What is wrong with a GA ``session.update`` for a voice interview."""
    problems = []
    audio = session.get("audio") or {}
    audio_in, audio_out = audio.get("input") or {}, audio.get("output") or {}
    if session.get("type") != "realtime":
        problems.append("session.type must be 'realtime'")
    if audio_in.get("format") != PCM_FORMAT or audio_out.get("format") != PCM_FORMAT:
        problems.append("audio.input/output.format must be audio/pcm at 24000 Hz")
    if (audio_in.get("turn_detection") or {}).get("type") != "server_vad":
        problems.append("audio.input.turn_detection must be server_vad")
    if not (audio_in.get("transcription") or {}).get("model"):
        problems.append("audio.input.transcription must name a model")
    if not audio_out.get("voice"):
        problems.append("audio.output.voice is missing")
    if not str(session.get("instructions") or "").strip():
        problems.append("instructions are missing")
    tools = session.get("tools") or []
    if not any(t.get("type") == "function" and t.get("name") == END_TOOL for t in tools):
        problems.append(f"the {END_TOOL} function tool is missing")
    return problems


def text_of(item: dict[str, Any]) -> str:
    content = item.get("content") or []
    return " ".join(str(part.get("text") or "") for part in content if isinstance(part, dict))


def pcm_rms_windows(pcm: bytes) -> list[float]:
    """RMS of each whole 20 ms window of ``pcm`` (PCM16 little-endian)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    whole = len(samples) - len(samples) % WINDOW_SAMPLES
    windows = samples[:whole].reshape(-1, WINDOW_SAMPLES)
    return [float(value) for value in np.sqrt(np.mean(windows**2, axis=1))]


def decode_pcm(audio: object) -> bytes:
    """Base64 PCM16; raise ValueError if it is not."""
    if not isinstance(audio, str):
        raise ValueError("audio must be a base64 string")
    try:
        pcm = base64.b64decode(audio, validate=True)
    except binascii.Error as exc:
        raise ValueError("audio is not valid base64") from exc
    if len(pcm) % 2:
        raise ValueError("audio must hold whole PCM16 samples")
    return pcm

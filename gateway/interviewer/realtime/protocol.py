"""The OpenAI Realtime protocol (GA, over WebSocket): every event shape the gateway uses.

Client events are built by the functions below (plain JSON-ready dicts);
server events are parsed by `parse` into small frozen values. A protocol
change has this one module to update. Followed documents:

- Realtime API reference, client and server events:
  https://developers.openai.com/api/reference/resources/realtime/client-events
  https://developers.openai.com/api/reference/resources/realtime/server-events
- Realtime conversations guide (session, items, truncation, function calls):
  https://developers.openai.com/docs/guides/realtime-conversations
- The GA event types as published in openai/openai-python
  (``src/openai/types/realtime/``), for exact field names.

GA names are spoken; the beta names of the audio, transcript and item events
are accepted too (`BETA_ALIASES`), so an endpoint still on the beta shapes
works. Audio is PCM16 mono at 24 kHz in both directions, the internal rate,
so nothing is resampled here.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Literal

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE

PCM_FORMAT: dict[str, Any] = {"type": "audio/pcm", "rate": SAMPLE_RATE}
END_INTERVIEW = "end_interview"
ASK_QUESTION = "ask_question"
ItemRole = Literal["system", "user", "assistant"]
TURN_DETECTIONS = ("semantic_vad", "server_vad")
EAGERNESS = ("low", "medium", "high", "auto")
NOISE_REDUCTIONS = ("near_field", "far_field", "off")

BETA_ALIASES = {
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "conversation.item.created": "conversation.item.added",
}
# Error codes after which the upstream session cannot be trusted to go on.
SESSION_ENDING_CODES = frozenset({"session_expired", "rate_limit_exceeded", "insufficient_quota"})
SESSION_ENDING_TYPES = frozenset({"server_error"})


class ProtocolError(ValueError):
    """A server event that is not JSON or lacks a field its type requires."""


# -- client events -----------------------------------------------------------


def session_update(
    *,
    instructions: str,
    voice: str,
    language: str,
    transcription_model: str,
    end_tool_description: str,
    ask_tool_description: str = "",
    question_ids: tuple[str, ...] = (),
    turn_detection: str = "semantic_vad",
    eagerness: str = "low",
    noise_reduction: str = "far_field",
) -> dict[str, Any]:
    """Configure a realtime session: audio in and out, captions, turn detection, noise
    reduction, the end tool, and, with ``question_ids``, the tool the model calls as it
    asks each of them.

    The upstream detects the ends of turns (``create_response``) but never cuts
    its own response when the candidate starts speaking (``interrupt_response``
    off): the gateway hears the candidate first and decides what is an
    interruption (`gateway.interviewer.bargein`).
    """
    tools: list[dict[str, Any]] = [
        {
            "type": "function",
            "name": END_INTERVIEW,
            "description": end_tool_description,
            "parameters": {"type": "object", "properties": {}, "required": []},
        }
    ]
    if question_ids:
        tools.append(
            {
                "type": "function",
                "name": ASK_QUESTION,
                "description": ask_tool_description,
                "parameters": {
                    "type": "object",
                    "properties": {
                        "question_id": {"type": "string", "enum": list(question_ids)},
                    },
                    "required": ["question_id"],
                },
            }
        )
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "output_modalities": ["audio"],
            "instructions": instructions,
            "audio": {
                "input": {
                    "format": PCM_FORMAT,
                    "transcription": {"model": transcription_model, "language": language},
                    "turn_detection": _turn_detection(turn_detection, eagerness),
                    "noise_reduction": (
                        None if noise_reduction == "off" else {"type": noise_reduction}
                    ),
                },
                "output": {"format": PCM_FORMAT, "voice": voice},
            },
            "tools": tools,
            "tool_choice": "auto",
        },
    }


# The upstream's input filter for what the page measured: a far-field filter when the
# microphone hears the speakers, a near-field one for headphones; the configured
# one (`RealtimeSettings.noise_reduction`) when nothing was measured.
NOISE_REDUCTION = {"strong": "far_field", "low": "near_field"}


def _turn_detection(kind: str, eagerness: str) -> dict[str, Any]:
    if kind not in TURN_DETECTIONS:
        raise ValueError(f"unknown turn detection {kind!r}")
    detection: dict[str, Any] = {"type": kind}
    if kind == "semantic_vad":
        detection["eagerness"] = eagerness
    return {**detection, "create_response": True, "interrupt_response": False}


def append_audio(pcm: bytes) -> dict[str, Any]:
    return {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode("ascii")}


def create_response() -> dict[str, Any]:
    return {"type": "response.create"}


def cancel_response() -> dict[str, Any]:
    """Stop the response in progress (the server answers ``response.done``, cancelled)."""
    return {"type": "response.cancel"}


def delete_item(item_id: str) -> dict[str, Any]:
    """Take an item out of the conversation (a backchannel the model must not answer)."""
    return {"type": "conversation.item.delete", "item_id": item_id}


def truncate(item_id: str, audio_end_ms: int) -> dict[str, Any]:
    """Cut an assistant item's audio (and its transcript) at what was heard."""
    return {
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": audio_end_ms,
    }


def text_item(role: ItemRole, text: str) -> dict[str, Any]:
    """A text message added to the conversation (context restore, notes to the model)."""
    kind = "output_text" if role == "assistant" else "input_text"
    return {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": role, "content": [{"type": kind, "text": text}]},
    }


def function_output(call_id: str, output: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": call_id, "output": json.dumps(output)},
    }


def encode(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


# -- server events -----------------------------------------------------------


@dataclass(frozen=True)
class SessionReady:
    """``session.created`` or ``session.updated``."""


@dataclass(frozen=True)
class ResponseStarted:
    response_id: str


@dataclass(frozen=True)
class FunctionCall:
    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ResponseDone:
    response_id: str
    status: str
    calls: tuple[FunctionCall, ...]
    spoke: bool = False  # the response had a message besides any calls


@dataclass(frozen=True)
class AudioDelta:
    item_id: str
    pcm: bytes


@dataclass(frozen=True)
class AudioDone:
    item_id: str


@dataclass(frozen=True)
class TranscriptDelta:
    item_id: str
    text: str


@dataclass(frozen=True)
class TranscriptDone:
    item_id: str
    text: str


@dataclass(frozen=True)
class SpeechStarted:
    item_id: str
    audio_start_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    item_id: str
    audio_end_ms: int


@dataclass(frozen=True)
class InputTranscriptDelta:
    item_id: str
    text: str


@dataclass(frozen=True)
class InputTranscriptDone:
    item_id: str
    text: str


@dataclass(frozen=True)
class InputTranscriptFailed:
    item_id: str


@dataclass(frozen=True)
class RateLimited:
    """``rate_limits.updated`` with a limit used up; ``reset_sec`` until it refills."""

    name: str
    reset_sec: float


@dataclass(frozen=True)
class ServerError:
    kind: str
    code: str
    message: str

    @property
    def ends_session(self) -> bool:
        return self.code in SESSION_ENDING_CODES or self.kind in SESSION_ENDING_TYPES


@dataclass(frozen=True)
class Other:
    """An event the gateway does not act on (still proof the upstream is alive)."""

    type: str


ServerEvent = (
    SessionReady
    | ResponseStarted
    | ResponseDone
    | AudioDelta
    | AudioDone
    | TranscriptDelta
    | TranscriptDone
    | SpeechStarted
    | SpeechStopped
    | InputTranscriptDelta
    | InputTranscriptDone
    | InputTranscriptFailed
    | RateLimited
    | ServerError
    | Other
)


def parse(raw: str | bytes) -> ServerEvent:
    """One server event; raise `ProtocolError` if it is malformed."""
    try:
        event = json.loads(raw)
        if not isinstance(event, dict):
            raise ProtocolError("a server event must be a JSON object")
        kind = str(event["type"])
        return _parse(BETA_ALIASES.get(kind, kind), event)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        if isinstance(exc, ProtocolError):
            raise
        raise ProtocolError(f"malformed server event: {exc!r}") from exc


def _parse(kind: str, event: dict[str, Any]) -> ServerEvent:
    match kind:
        case "session.created" | "session.updated":
            return SessionReady()
        case "response.created":
            return ResponseStarted(str(event["response"]["id"]))
        case "response.done":
            response = event["response"]
            calls = tuple(
                FunctionCall(str(item["call_id"]), str(item["name"]), str(item.get("arguments")))
                for item in response.get("output") or ()
                if item.get("type") == "function_call"
            )
            spoke = any(item.get("type") == "message" for item in response.get("output") or ())
            return ResponseDone(str(response["id"]), str(response.get("status")), calls, spoke)
        case "response.output_audio.delta":
            pcm = base64.b64decode(event["delta"], validate=True)
            if len(pcm) % SAMPLE_BYTES:
                raise ProtocolError("an audio delta must hold whole PCM16 samples")
            return AudioDelta(str(event["item_id"]), pcm)
        case "response.output_audio.done":
            return AudioDone(str(event["item_id"]))
        case "response.output_audio_transcript.delta":
            return TranscriptDelta(str(event["item_id"]), str(event["delta"]))
        case "response.output_audio_transcript.done":
            return TranscriptDone(str(event["item_id"]), str(event["transcript"]))
        case "input_audio_buffer.speech_started":
            return SpeechStarted(str(event["item_id"]), int(event["audio_start_ms"]))
        case "input_audio_buffer.speech_stopped":
            return SpeechStopped(str(event["item_id"]), int(event["audio_end_ms"]))
        case "conversation.item.input_audio_transcription.delta":
            return InputTranscriptDelta(str(event["item_id"]), str(event["delta"]))
        case "conversation.item.input_audio_transcription.completed":
            return InputTranscriptDone(str(event["item_id"]), str(event["transcript"]))
        case "conversation.item.input_audio_transcription.failed":
            return InputTranscriptFailed(str(event["item_id"]))
        case "rate_limits.updated":
            return _rate_limits(event["rate_limits"])
        case "error":
            error = event["error"]
            return ServerError(
                str(error.get("type")), str(error.get("code")), str(error.get("message"))
            )
    return Other(kind)


def _rate_limits(limits: list[dict[str, Any]]) -> ServerEvent:
    for limit in limits:
        if limit.get("remaining") == 0:
            return RateLimited(str(limit.get("name")), float(limit.get("reset_seconds") or 0.0))
    return Other("rate_limits.updated")

"""What a client gets wrong, as violation messages; an empty list means nothing."""

from __future__ import annotations

from typing import Any

from zenhire.fake_realtime.pcm import PCM_FORMAT
from zenhire.fake_realtime.script import END_TOOL

TURN_DETECTIONS = ("server_vad", "semantic_vad")
EAGERNESS = ("low", "medium", "high", "auto")
NOISE = ("near_field", "far_field")


def turn_detection_problems(detection: object) -> list[str]:
    """What is wrong with ``audio.input.turn_detection`` (server or semantic VAD)."""
    if not isinstance(detection, dict) or detection.get("type") not in TURN_DETECTIONS:
        return ["audio.input.turn_detection must be server_vad or semantic_vad"]
    problems = []
    if detection["type"] == "semantic_vad" and detection.get("eagerness", "auto") not in EAGERNESS:
        problems.append("turn_detection.eagerness must be low, medium, high or auto")
    for flag in ("create_response", "interrupt_response"):
        if not isinstance(detection.get(flag, True), bool):
            problems.append(f"turn_detection.{flag} must be a boolean")
    return problems


def session_problems(session: dict[str, Any]) -> list[str]:
    """What is wrong with a GA ``session.update`` for a voice interview."""
    problems = []
    audio = session.get("audio") or {}
    audio_in, audio_out = audio.get("input") or {}, audio.get("output") or {}
    if session.get("type") != "realtime":
        problems.append("session.type must be 'realtime'")
    if audio_in.get("format") != PCM_FORMAT or audio_out.get("format") != PCM_FORMAT:
        problems.append("audio.input/output.format must be audio/pcm at 24000 Hz")
    problems.extend(turn_detection_problems(audio_in.get("turn_detection")))
    noise = audio_in.get("noise_reduction")
    if noise is not None and (not isinstance(noise, dict) or noise.get("type") not in NOISE):
        problems.append("audio.input.noise_reduction must be null or near_field/far_field")
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


def item_problems(item: dict[str, Any]) -> list[str]:
    """What is wrong with an item from ``conversation.item.create``: a function call
    output, or a system, user or assistant message (assistant text as ``output_text``)."""
    if item.get("type") == "function_call_output":
        return []
    if item.get("type") != "message" or item.get("role") not in ("system", "user", "assistant"):
        return [f"unexpected item {item!r}"]
    if item.get("role") == "assistant" and any(
        part.get("type") != "output_text" for part in item.get("content") or []
    ):
        return ["assistant text items must be output_text"]
    return []

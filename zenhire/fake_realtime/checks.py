"""What a client gets wrong, as violation messages; an empty list means nothing."""

from __future__ import annotations

from typing import Any

from zenhire.fake_realtime.pcm import PCM_FORMAT
from zenhire.fake_realtime.script import END_TOOL


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

"""The fake model's responses on one connection.

A response says the next line of the `script` as real speech: audio deltas
of `Cues.delta_ms` at `Cues.pace` times real time, the transcript alongside,
then a call to `END_TOOL` after the closing line. A line that asks a
question is preceded, in the same response, by a call to `ASK_TOOL` with
that question's id when the client offers one. The assistant item joins
the conversation when the response starts; the line counts as said when it
completes. A fault on cue (`Cues.faults`) cuts the response short.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import Any, Protocol

import websockets

from zenhire.fake_realtime.conversation import Conversation
from zenhire.fake_realtime.cues import FAULT_AFTER_DELTAS
from zenhire.fake_realtime.host import Host
from zenhire.fake_realtime.outbox import Outbox
from zenhire.fake_realtime.pcm import BYTES_PER_MS
from zenhire.fake_realtime.script import ASK_TOOL, END_TOOL, next_words, question_index


class StreamSpeech(Protocol):
    """Streams the spoken item ``item_id`` of a response; False if a fault cut it off."""

    async def __call__(
        self, response_id: str, item_id: str, text: str, fault: str | None
    ) -> bool: ...


class Responder:
    """Runs the responses of one connection, sending through its `Outbox`."""

    def __init__(self, host: Host, outbox: Outbox, conversation: Conversation) -> None:
        self._host = host
        self._cues = host.cues
        self._outbox = outbox
        self._conversation = conversation

    async def respond(self, number: int, stream: StreamSpeech) -> None:
        """Run response ``number`` (counted over all connections) with its speech
        sent by ``stream``; it ends quietly if the connection closes. Cancelling it
        (the candidate interrupts) ends the response as ``cancelled``."""
        fault = self._cues.faults.get(number)
        if fault == "silent":
            return
        # The gateway may go away mid-response.
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._respond(fault, stream)

    async def _respond(self, fault: str | None, stream: StreamSpeech) -> None:
        response_id, item_id = self._host.new_id("resp"), self._host.new_id("item")
        text, ending = next_words(self._conversation.items, self._cues.questions)
        send = self._outbox.send
        await send(
            {
                "type": "response.created",
                "response": {"id": response_id, "status": "in_progress", "output": []},
            }
        )
        if fault == "rate_limit":
            await send(
                {
                    "type": "rate_limits.updated",
                    "rate_limits": [
                        {"name": "tokens", "limit": 1000, "remaining": 0, "reset_seconds": 0.2}
                    ],
                }
            )
            await self._outbox.error(
                "invalid_request_error", "rate_limit_exceeded", "Rate limit hit."
            )
            await self._done(response_id, "failed", [])
            return
        output: list[dict[str, Any]] = []
        ids = self._conversation.question_ids
        index = question_index(self._conversation.items)
        if not ending and index < len(ids):
            arguments = json.dumps({"question_id": ids[index]})
            output.append(await self._call(response_id, ASK_TOOL, arguments, len(output)))
        item = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress"}
        self._conversation.items.append(
            {**item, "content": [{"type": "output_text", "text": text}]}
        )
        await send(
            {
                "type": "response.output_item.added",
                "response_id": response_id,
                "output_index": len(output),
                "item": {**item, "content": []},
            }
        )
        await send({"type": self._outbox.name("conversation.item.added"), "item": item})
        try:
            if not await stream(response_id, item_id, text, fault):
                return
        except asyncio.CancelledError:
            # Interrupted by the candidate's speech: the response ends here.
            await self._done_quietly(response_id)
            raise
        output.append({**item, "status": "completed"})
        if ending:
            output.append(await self._call(response_id, END_TOOL, "{}", len(output)))
        await self._done(response_id, "completed", output)
        self._host.said.append(text)

    async def stream(self, response_id: str, item_id: str, text: str, fault: str | None) -> bool:
        """Stream the spoken item; False if a fault cut it off."""
        cues, host, outbox = self._cues, self._host, self._outbox
        pcm = await host.speech(text)
        chunk = cues.delta_ms * BYTES_PER_MS
        chunks = [pcm[i : i + chunk] for i in range(0, len(pcm), chunk)]
        words = text.split(" ")
        base = {"response_id": response_id, "item_id": item_id, "output_index": 0}
        sent_words = 0
        audio_ms = self._conversation.audio_ms
        audio_ms[item_id] = 0
        for index, audio in enumerate(chunks):
            if fault in ("drop", "error") and index == FAULT_AFTER_DELTAS:
                await self._fault(fault, response_id)
                return False
            due = round(len(words) * (index + 1) / len(chunks))
            if due > sent_words:
                delta = " ".join(words[sent_words:due]) + ("" if due == len(words) else " ")
                await outbox.send(
                    {
                        "type": outbox.name("response.output_audio_transcript.delta"),
                        **base,
                        "content_index": 0,
                        "delta": delta,
                    }
                )
                sent_words = due
            await outbox.send(
                {
                    "type": outbox.name("response.output_audio.delta"),
                    **base,
                    "content_index": 0,
                    "delta": base64.b64encode(audio).decode("ascii"),
                }
            )
            audio_ms[item_id] += len(audio) // BYTES_PER_MS
            if cues.record_audio:
                host.audio[item_id] = host.audio.get(item_id, b"") + audio
            await asyncio.sleep(cues.delta_ms / 1000 / cues.pace)
        await outbox.send({"type": outbox.name("response.output_audio.done"), **base})
        await outbox.send(
            {
                "type": outbox.name("response.output_audio_transcript.done"),
                **base,
                "content_index": 0,
                "transcript": text,
            }
        )
        await outbox.send({"type": "response.output_item.done", **base})
        return True

    async def _fault(self, fault: str, response_id: str) -> None:
        if fault == "drop":
            self._outbox.abort()
            return
        await self._outbox.error("server_error", "server_error", "The server had an error.")
        await self._done(response_id, "failed", [])

    async def _call(
        self, response_id: str, name: str, arguments: str, output_index: int
    ) -> dict[str, Any]:
        """Stream a call of function ``name`` as output item ``output_index``."""
        call_id, item_id = self._host.new_id("call"), self._host.new_id("item")
        call = {
            "id": item_id,
            "type": "function_call",
            "status": "completed",
            "name": name,
            "call_id": call_id,
            "arguments": arguments,
        }
        base = {"response_id": response_id, "item_id": item_id, "output_index": output_index}
        send = self._outbox.send
        await send({"type": "response.output_item.added", **base, "item": call})
        await send(
            {
                "type": "response.function_call_arguments.delta",
                **base,
                "call_id": call_id,
                "delta": arguments,
            }
        )
        await send(
            {
                "type": "response.function_call_arguments.done",
                **base,
                "call_id": call_id,
                "name": name,
                "arguments": arguments,
            }
        )
        await send({"type": "response.output_item.done", **base, "item": call})
        return call

    async def _done(self, response_id: str, status: str, output: list[dict[str, Any]]) -> None:
        await self._outbox.send(
            {
                "type": "response.done",
                "response": {"id": response_id, "status": status, "output": output},
            }
        )

    async def _done_quietly(self, response_id: str) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._done(response_id, "cancelled", [])

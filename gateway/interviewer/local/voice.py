"""Speech synthesis with eSpeak NG, streamed as 24 kHz frames-to-be.

``espeak-ng --stdout`` writes a WAV stream (22 050 Hz mono PCM16) as it
synthesizes; `Voice.stream` reads it from an asyncio subprocess chunk by
chunk and converts it to the internal 24 kHz rate, so the first audio of a
sentence is ready a few milliseconds after the call and the event loop never
waits on the synthesizer. The text goes in on stdin, never on the command
line, so a role name cannot become an option.

    GatewayError
    └── SynthesisError   the synthesizer is missing, failed, or wrote no WAV
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import struct
from collections.abc import AsyncGenerator

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE
from audio.resample import Resampler
from gateway.errors import GatewayError
from zenhire.children import Child

ESPEAK = "espeak-ng"
ESPEAK_RATE = 22_050
# espeak-ng writes a canonical 44-byte header whose size fields are
# placeholders (it cannot seek stdout), so the data simply runs to EOF.
WAV_HEADER_BYTES = 44
READ_CHUNK_BYTES = 4096
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")


class SynthesisError(GatewayError):
    """Speech could not be synthesized."""

    code = "UPSTREAM_UNAVAILABLE"


def split_sentences(text: str) -> list[str]:
    """``text`` cut after sentence-ending punctuation; never an empty list for real text."""
    return [part for part in (s.strip() for s in _SENTENCE_END.split(text)) if part]


class Voice:
    """One eSpeak NG voice (``"en-us"``, ``"de"``, ...) at a speaking rate."""

    def __init__(self, name: str, words_per_minute: int, executable: str = ESPEAK) -> None:
        self.name = name
        self.words_per_minute = words_per_minute
        self._executable = executable

    async def stream(self, text: str, niceness: int = 0) -> AsyncGenerator[bytes, None]:
        """Yield ``text`` spoken as PCM16 24 kHz mono chunks (whole samples); the
        synthesizer runs ``niceness`` below the gateway's priority.

        Closing the generator early (``contextlib.aclosing``) kills the
        synthesizer. Raises SynthesisError if it cannot run or fails.
        """
        try:
            child = await Child.spawn(
                *(self._executable, "--stdout", "-v", self.name, "-s", str(self.words_per_minute)),
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError as exc:
            raise SynthesisError(f"cannot run {self._executable}: {exc}") from exc
        process = child.process
        if niceness:
            # Not in the child before it runs (preexec_fn is unsafe beside threads):
            # its first milliseconds run at the gateway's priority.
            with contextlib.suppress(ProcessLookupError):
                os.setpriority(
                    os.PRIO_PROCESS, process.pid, os.getpriority(os.PRIO_PROCESS, 0) + niceness
                )
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(text.encode("utf-8"))
            process.stdin.close()
            resampler = Resampler(ESPEAK_RATE, SAMPLE_RATE)
            await _read_header(process.stdout)
            tail = b""
            while chunk := await process.stdout.read(READ_CHUNK_BYTES):
                chunk = tail + chunk
                cut = len(chunk) - len(chunk) % SAMPLE_BYTES
                tail = chunk[cut:]
                if pcm := resampler.process(chunk[:cut]):
                    yield pcm
            if pcm := resampler.flush():
                yield pcm
            if await process.wait() != 0:
                raise SynthesisError(f"{self._executable} exited with {process.returncode}")
        finally:
            # Closed early, the synthesizer's stdout is usually full and paused
            # (the consumer was waiting for room): `Child.stop` closes it.
            await child.stop()


async def _read_header(stdout: asyncio.StreamReader) -> None:
    try:
        header = await stdout.readexactly(WAV_HEADER_BYTES)
    except asyncio.IncompleteReadError as exc:
        raise SynthesisError("the synthesizer wrote no WAV header") from exc
    channels, rate = struct.unpack_from("<HI", header, 22)
    bits = struct.unpack_from("<H", header, 34)[0]
    if header[:4] != b"RIFF" or (channels, rate, bits) != (1, ESPEAK_RATE, 16):
        raise SynthesisError(f"unexpected WAV format: {channels} ch, {rate} Hz, {bits} bit")

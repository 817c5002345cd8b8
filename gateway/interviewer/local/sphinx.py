"""The PocketSphinx worker process: ``python -m gateway.interviewer.local.sphinx``.

PocketSphinx holds the GIL for as long as it loads its model (a quarter of a
second) and while it decodes, so it runs in a process of its own and the
gateway's event loop only moves bytes through pipes.

Protocol, strictly one request then one reply:

- request on stdin: a header ``struct.pack(HEADER, op, length)`` and
  ``length`` bytes of payload. ``op`` is ``START`` (begin an utterance),
  ``AUDIO`` (PCM16 24 kHz mono of the open utterance), ``END`` (finish it)
  or ``DISCARD`` (drop it);
- reply on stdout: one UTF-8 line, the utterance's current best hypothesis
  (final after ``END``; empty after ``START`` and ``DISCARD``).

The process exits at end of input, and quietly when the gateway is gone.
"""

from __future__ import annotations

import os
import struct
import sys
from typing import BinaryIO

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE
from audio.resample import Resampler

HEADER = "<cI"
HEADER_BYTES = struct.calcsize(HEADER)
START = b"S"
AUDIO = b"A"
END = b"E"
DISCARD = b"D"
DECODER_RATE = 16_000
DECODE_SLICE_MS = 100
DECODE_SLICE_BYTES = SAMPLE_RATE * DECODE_SLICE_MS // 1000 * SAMPLE_BYTES
# Below the gateway's priority (see the end of this module).
NICENESS = 10
# The most HMMs the search keeps active per 10 ms frame (PocketSphinx's
# default is 30,000). In noise the search widens: in a room of voices the
# decoder ran at 0.95 of real time, and fell seconds behind at niceness 10.
# At 5,000 it runs at 0.46 (quiet: 0.39 → 0.24), for a word error rate of
# 0.36 in quiet either way and 0.43 → 0.45 by a fan (docs/benchmark.md).
MAX_ACTIVE_HMMS = 5_000


class SphinxStream:
    """One decoder fed 24 kHz audio, one utterance at a time.

    Both the resampler's output and PocketSphinx's result depend on how
    their input is cut into calls, so audio goes through in fixed
    `DECODE_SLICE_MS` slices whatever the request sizes: the same speech
    always gives the same caption.
    """

    def __init__(self) -> None:
        # Imported here: the gateway imports this module for its protocol, and only
        # the worker process should load PocketSphinx and its model.
        import pocketsphinx

        # The flat-lexicon second pass costs time proportional to the whole
        # utterance at its end (between the candidate's turn and the next
        # prompt) for no clear gain on short answers.
        self._decoder = pocketsphinx.Decoder(
            samprate=DECODER_RATE, loglevel="FATAL", fwdflat=False, maxhmmpf=MAX_ACTIVE_HMMS
        )
        self._resampler = Resampler(SAMPLE_RATE, DECODER_RATE)
        self._pending = bytearray()  # 24 kHz, less than a slice
        self._open = False

    def start(self) -> str:
        self.end()
        self._decoder.start_utt()
        self._open = True
        return ""

    def feed(self, pcm: bytes) -> str:
        if not self._open:
            return ""
        self._pending += pcm
        whole = len(self._pending) - len(self._pending) % DECODE_SLICE_BYTES
        for at in range(0, whole, DECODE_SLICE_BYTES):
            self._decode(
                self._resampler.process(bytes(self._pending[at : at + DECODE_SLICE_BYTES]))
            )
        del self._pending[:whole]
        return self._hypothesis()

    def end(self) -> str:
        if not self._open:
            return ""
        self._decode(self._resampler.process(bytes(self._pending)) + self._resampler.flush())
        self._pending.clear()
        self._decoder.end_utt()
        self._open = False
        return self._hypothesis()

    def _decode(self, audio: bytes) -> None:
        if audio:  # PocketSphinx rejects an empty buffer
            self._decoder.process_raw(audio)

    def _hypothesis(self) -> str:
        hypothesis = self._decoder.hyp()
        return "" if hypothesis is None else " ".join(str(hypothesis.hypstr).split())


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Answer requests until end of input (see the module docstring)."""
    stream = SphinxStream()
    while header := requests.read(HEADER_BYTES):
        op, length = struct.unpack(HEADER, header)
        payload = requests.read(length)
        if op == START:
            reply = stream.start()
        elif op == AUDIO:
            reply = stream.feed(payload[: len(payload) - len(payload) % SAMPLE_BYTES])
        elif op == END:
            reply = stream.end()
        else:
            stream.end()
            reply = ""
        replies.write(reply.encode("utf-8") + b"\n")
        replies.flush()


def main() -> None:
    # Captions may lag; the frame loop, the end-of-turn model and the
    # synthesizer on the same cores may not. The decoder runs at about half
    # of real time on this project's 2-core machines, so two or three
    # interviews' decoders on one core starve the rest at equal priority.
    os.nice(NICENESS)
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:
        # The gateway died (a crash, SIGKILL) with a reply on its way: nobody is left
        # to answer, and a traceback would only clutter the dead replica's log. Python
        # flushes stdout again at exit and would fail the same way: point it at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    main()

"""Server VAD: where the candidate's speech starts and stops in the appended audio.

Pure: audio in, `SpeechStarted`/`SpeechStopped` out, positions in
milliseconds of audio appended since the connection opened. A window is
voiced when its RMS reaches the threshold; speech starts after
``start_ms`` of voiced windows in a row (dated back to the first of them)
and stops after ``silence_ms`` of unvoiced ones (dated at the end of the
last voiced window).
"""

from __future__ import annotations

from dataclasses import dataclass

from zenhire.fake_realtime.pcm import WINDOW_MS, WINDOW_SAMPLES, pcm_rms_windows


@dataclass(frozen=True)
class SpeechStarted:
    audio_start_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    audio_start_ms: int
    audio_end_ms: int


class VoiceDetector:
    """Energy-based turn detection over PCM16 appended in pieces of any length.

    A piece that ends inside a window is kept (at most one window) until the
    next piece completes it. ``silence_ms`` may change between pieces (a new
    ``turn_detection``).
    """

    def __init__(self, threshold: float, start_ms: int, silence_ms: int) -> None:
        self._threshold = threshold
        self._start_ms = start_ms
        self.silence_ms = silence_ms
        self._position_ms = 0
        self._carry = b""
        self._voiced_ms = 0
        self._silent_ms = 0
        self._speaking = False
        self._speech_start_ms = 0
        self._last_voiced_ms = 0

    def feed(self, pcm: bytes) -> list[SpeechStarted | SpeechStopped]:
        """The starts and stops of speech that ``pcm`` completes, in order."""
        pcm, self._carry = self._carry + pcm, b""
        whole = len(pcm) - len(pcm) % (WINDOW_SAMPLES * 2)
        self._carry = pcm[whole:]
        turns: list[SpeechStarted | SpeechStopped] = []
        for rms in pcm_rms_windows(pcm[:whole]):
            turn = self._window(rms >= self._threshold)
            if turn is not None:
                turns.append(turn)
            self._position_ms += WINDOW_MS
        return turns

    def _window(self, voiced: bool) -> SpeechStarted | SpeechStopped | None:
        if voiced:
            self._voiced_ms += WINDOW_MS
            self._silent_ms = 0
            self._last_voiced_ms = self._position_ms + WINDOW_MS
            if not self._speaking and self._voiced_ms >= self._start_ms:
                self._speaking = True
                self._speech_start_ms = self._position_ms + WINDOW_MS - self._start_ms
                return SpeechStarted(self._speech_start_ms)
            return None
        self._voiced_ms = 0
        self._silent_ms += WINDOW_MS
        if self._speaking and self._silent_ms >= self.silence_ms:
            self._speaking = False
            return SpeechStopped(self._speech_start_ms, self._last_voiced_ms)
        return None

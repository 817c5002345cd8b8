"""Real speech for tests, synthesized on the spot with eSpeak NG and SoX.

Both are Debian packages (``espeak-ng``, ``sox``); nothing is mocked or stored
in the repository. Synthesis is deterministic for a given text, voice and rate.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from audio.frames import SAMPLE_RATE

SYNTH_TIMEOUT_SEC = 30.0


def synthesize(text: str, rate: int = SAMPLE_RATE, voice: str = "en-us") -> bytes:
    """Speak ``text`` and return it as raw mono signed 16-bit little-endian PCM at ``rate``.

    ``voice`` is any eSpeak NG voice, optionally with a variant (``"en-gb"``,
    ``"en-us+f3"`` for a female voice). eSpeak NG renders at its native
    22.05 kHz; SoX converts to ``rate`` without dither. The result starts and
    ends with eSpeak's own short silences (digital zero); voiced sounds peak
    around -15 to -20 dBFS. Raises ``subprocess.CalledProcessError`` if either
    tool fails.
    """
    with tempfile.TemporaryDirectory(prefix="zenhire-speech-") as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-w", str(wav), text],
            check=True,
            capture_output=True,
            timeout=SYNTH_TIMEOUT_SEC,
        )
        # -R -D: fixed seed and no dither, so silence stays digital zero and
        # the output is byte-for-byte repeatable.
        raw_pcm16 = ["-t", "raw", "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer"]
        converted = subprocess.run(
            ["sox", "-R", "-D", str(wav), *raw_pcm16, "-L", "-"],
            check=True,
            capture_output=True,
            timeout=SYNTH_TIMEOUT_SEC,
        )
    return converted.stdout

"""Real speech for tests, synthesized on the spot with eSpeak NG or Flite, and SoX.

All three are Debian packages (``espeak-ng``, ``flite``, ``sox``); nothing is
mocked or stored in the repository. Synthesis is deterministic for a given
text, voice and rate. eSpeak NG is a formant synthesizer: robotic, and
far from what recognizers and end-of-turn models were trained on. Flite's
voices (``flite:slt``, ``flite:rms``, ``flite:awb``, ``flite:kal16``) are
built from recordings of real speakers, so their words and prosody are much
closer to a person's; a corpus with both shows how much a figure owes to
the synthesizer.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from audio.frames import SAMPLE_RATE

SYNTH_TIMEOUT_SEC = 30.0
FLITE_PREFIX = "flite:"


def synthesize(text: str, rate: int = SAMPLE_RATE, voice: str = "en-us") -> bytes:
    """Speak ``text`` and return it as raw mono signed 16-bit little-endian PCM at ``rate``.

    ``voice`` is any eSpeak NG voice, optionally with a variant (``"en-gb"``,
    ``"en-us+f3"`` for a female voice), or ``"flite:<name>"`` for one of
    Flite's English voices. eSpeak NG renders at 22.05 kHz, Flite's voices at
    16 kHz; SoX converts to ``rate`` without dither. The result starts and
    ends with the synthesizer's own short silences; eSpeak's voiced sounds
    peak around -15 to -20 dBFS. Raises ``subprocess.CalledProcessError`` if
    a tool fails.
    """
    with tempfile.TemporaryDirectory(prefix="zenhire-speech-") as tmp:
        wav = Path(tmp) / "speech.wav"
        if voice.startswith(FLITE_PREFIX):
            script = Path(tmp) / "text.txt"
            script.write_text(text, encoding="utf-8")
            command = ["flite", "-voice", voice.removeprefix(FLITE_PREFIX), "-f", str(script)]
            command += ["-o", str(wav)]
        else:
            command = ["espeak-ng", "-v", voice, "-w", str(wav), text]
        subprocess.run(command, check=True, capture_output=True, timeout=SYNTH_TIMEOUT_SEC)
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

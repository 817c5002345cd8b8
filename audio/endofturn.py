"""Has the speaker finished? Smart Turn v3.2 on the end of an answer.

Smart Turn v3 (a small Whisper-encoder classifier, 8.7 MB quantized ONNX)
hears the last 8 s of a turn at 16 kHz as an 80-bin log-mel spectrogram
(:mod:`audio.logmel`) and answers one number: the probability that the turn
is complete, judged from the words' intonation, rhythm and drawl rather than
from silence. It was trained on turns that run up to about 200 ms past the
last word, zero-padded at the front to 8 s, so callers ask about the audio
from the turn's start (with a little lead-in) to now, shortly after the
speaker went quiet.

One call costs tens of milliseconds of one core whatever the audio's length
(the window is always 8 s). The session is safe to call from several threads
at once, and onnxruntime releases the GIL while it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from audio.frames import SAMPLE_RATE, to_samples
from audio.level import FULL_SCALE
from audio.logmel import MODEL_RATE, WINDOW_SAMPLES, fit_window, log_mel
from audio.models import ModelError, open_session
from audio.resample import resample

# Input audio past the model's 8 s window is ignored; a little more than the
# window is resampled so the filter's edge effect falls outside it.
_INPUT_SAMPLES: Final = WINDOW_SAMPLES * SAMPLE_RATE // MODEL_RATE + SAMPLE_RATE // 10
COMPLETE_THRESHOLD: Final = 0.5


class EndOfTurnModel:
    """Smart Turn v3 on 24 kHz mono PCM16; holds one onnxruntime session."""

    def __init__(self, path: Path) -> None:
        """Load the model at ``path``; raise ModelError if it cannot be loaded or is not
        Smart Turn v3 (input ``input_features`` of shape (batch, 80, 800))."""
        self.path = path
        self._session = open_session(path)
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or list(inputs[0].shape)[1:] != [80, 800]:
            raise ModelError(f"{path} is not a Smart Turn v3 model: inputs {inputs}")
        self._input = inputs[0].name

    def probability(self, pcm: bytes) -> float:
        """Probability (0..1) that the speech in ``pcm`` is a finished turn.

        ``pcm`` is 24 kHz mono PCM16 of the turn so far, most recent last; only
        its last 8 s count. Empty audio scores as the model scores silence.
        """
        samples = to_samples(pcm)[-_INPUT_SAMPLES:]
        return self.probability_16k(_to_model_rate(samples))

    def probability_16k(self, samples: npt.NDArray[np.floating]) -> float:
        """As :meth:`probability`, for float samples already at 16 kHz in -1..1."""
        features = log_mel(fit_window(samples))[np.newaxis]
        try:
            (scores,) = self._session.run(None, {self._input: features})
        except Exception as exc:  # onnxruntime raises its own untyped exceptions
            raise ModelError(f"Smart Turn failed: {exc}") from exc
        return float(np.asarray(scores).reshape(-1)[0])


def _to_model_rate(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
    pcm16k = to_samples(resample(samples.tobytes(), SAMPLE_RATE, MODEL_RATE))
    return pcm16k.astype(np.float64) / FULL_SCALE

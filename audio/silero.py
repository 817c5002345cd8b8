"""Voice activity by Silero VAD (v5, ONNX), on the same 20 ms frames as `audio.vad`.

Silero VAD is a small recurrent network that scores 32 ms windows of 16 kHz
audio (512 samples, each preceded by the previous window's last 64 as
context) with the probability that they hold speech, carrying a ``(2, 1, 128)``
state from one window to the next. :class:`SileroVad` resamples the 24 kHz
frames to 16 kHz as a stream, scores every whole window as it completes and
judges each frame by the latest window's probability, then smooths with the
same :class:`~audio.vad.Hysteresis` as the spectral detector, so the two are
interchangeable (both answer :class:`~audio.vad.VadResult`).

The recurrent state drifts during long non-speech (noise, music) and then
under-reports the next speech, so it is cleared every few seconds, but only
while the audio is clearly not speech (a reset in speech would drop it).

**Foreground speech only.** Silero hears voices, any voices: under babble
(a café, an open office, a television) it calls every frame speech, and a
turn would never end. The candidate is the voice close to the microphone,
louder than the room. The room is what the microphone hears while the
candidate is not talking: the caller says so per frame (``room``; the
interviewer's frame loop passes whether the candidate holds the floor), so
a long fluent answer never becomes the room. When Silero called at least
``voiced_room_share`` of the room's last ``voiced_span_ms`` speech, the
room is one of voices, until at most ``quiet_room_share`` of its last
``quiet_room_span_ms`` is (Silero's verdicts on babble lapse for a moment
after each reset of its state). In a room of voices a frame is speech
only when its loudness (the loudest of the last ``foreground_hold_ms``,
which bridges the dips between syllables) is ``foreground_db`` above the
room's ``background_percentile``. In a quiet or a fan-noise room Silero
hears no speech in the room, and the gate changes nothing. Until the room was heard
for ``background_min_ms`` (a stream's first moments) nothing is speech;
Silero's verdicts in the first `WARMUP_MS` of a stream, while its state
builds up from nothing, do not count towards the room's voices, and
digital silence (a gap in the stream) is no room at all.

What it cannot do: voices that rise in a room heard quiet until then sound
exactly like the candidate starting to talk, and once a turn holds the
floor the room is not learnt, so those voices keep the turn open until the
answer limit, as without the gate. (Silero hears fluent speech without a
break for ten seconds and more, so "no breath for that long" does not tell
them apart either.)

Buffering is bounded: at most one window plus one frame of 16 kHz samples
waits to be scored.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from audio.frames import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, to_samples
from audio.level import FLOOR_DBFS, FULL_SCALE
from audio.models import ModelError, open_session
from audio.resample import Resampler
from audio.vad import Hysteresis, VadResult, dbfs

MODEL_RATE: Final = 16_000
WINDOW: Final = 512  # 32 ms at 16 kHz
CONTEXT: Final = 64
STATE_SHAPE: Final = (2, 1, 128)
WINDOW_MS: Final = WINDOW * 1000 // MODEL_RATE
WARMUP_MS: Final = 240
# Frames this quiet are no audio at all (digital silence: a gap in the stream,
# or a muted input), not a room; they do not count towards the room's sound.
NO_AUDIO_DBFS: Final = -90.0


@dataclass(frozen=True, slots=True)
class SileroSettings:
    """Tuning of :class:`SileroVad`.

    A frame is speech when the latest window's probability reaches
    ``threshold``; smoothing is as in :class:`~audio.vad.VadSettings`. The
    state is reset once ``reset_after_ms`` have passed since the last reset
    and ``quiet_windows`` windows in a row scored below ``quiet_below``.
    """

    threshold: float = 0.5
    # Shorter than the spectral detector's 60 ms: a window is already 32 ms.
    start_ms: int = 40
    hangover_ms: int = 300
    reset_after_ms: int = 2_000
    quiet_below: float = 0.1
    quiet_windows: int = 5
    # Foreground speech (see the module's docstring); 0 turns the gate off.
    foreground_db: float = 9.0
    foreground_hold_ms: int = 200
    background_ms: int = 5_000
    background_percentile: float = 30.0
    voiced_room_share: float = 0.8
    # Recent, not all of ``background_ms``: Silero takes a few hundred ms to
    # call babble speech after digital silence (the stream's first frames),
    # and again after each reset of its state.
    voiced_span_ms: int = 500
    # A room of voices stays one until Silero heard at most this share of
    # speech in the room's last ``quiet_room_span_ms``.
    quiet_room_share: float = 0.2
    quiet_room_span_ms: int = 2_000
    background_min_ms: int = 1_000

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"SileroSettings.threshold out of range: {self.threshold}")
        if self.start_ms <= 0 or self.hangover_ms <= 0:
            raise ValueError("SileroSettings.start_ms and hangover_ms must be positive")
        if self.foreground_db < 0 or not 0.0 <= self.background_percentile <= 100.0:
            raise ValueError("SileroSettings: foreground_db or background_percentile out of range")
        if min(self.foreground_hold_ms, self.background_ms) < FRAME_MS or (
            self.background_min_ms < WARMUP_MS + self.voiced_span_ms
        ):
            raise ValueError("SileroSettings: the spans must hold a frame, and outlast the warm-up")


class SileroVad:
    """Stateful Silero detector fed consecutive 20 ms, 24 kHz mono PCM16 frames.

    One per audio stream (not thread-safe); the loaded session may be shared
    by handing the same :class:`SileroModel` to several detectors.
    """

    def __init__(self, model: SileroModel, settings: SileroSettings | None = None) -> None:
        self.settings = settings or SileroSettings()
        self._model = model
        self._smoothing = Hysteresis(self.settings.start_ms, self.settings.hangover_ms)
        self._reset_windows = max(1, self.settings.reset_after_ms // WINDOW_MS)
        self._state: npt.NDArray[np.float32]
        self._context: npt.NDArray[np.float32]
        self._windows = 0  # windows scored since the model state was cleared
        self._quiet_run = 0  # consecutive windows below ``quiet_below``
        self._levels: deque[float] = deque(maxlen=self.settings.background_ms // FRAME_MS)
        self._voiced: deque[bool] = deque(
            maxlen=max(self.settings.voiced_span_ms, self.settings.quiet_room_span_ms) // FRAME_MS
        )
        self._voices = False  # the room is one of voices
        self._recent: deque[float] = deque(maxlen=self.settings.foreground_hold_ms // FRAME_MS)
        self._heard_ms = 0
        self.reset()

    def reset(self) -> None:
        """Forget the audio, the model state and the speaking state, as for a new stream."""
        self._resampler = Resampler(SAMPLE_RATE, MODEL_RATE)
        self._pending = np.zeros(0, dtype=np.float32)
        self._clear_model()
        self._probability = 0.0
        self._smoothing.reset()
        self._levels.clear()
        self._voiced.clear()
        self._voices = False
        self._heard_ms = 0
        self._recent.clear()

    @property
    def speaking(self) -> bool:
        """The smoothed state after the last frame."""
        return self._smoothing.speaking

    @property
    def probability(self) -> float:
        """The latest window's speech probability."""
        return self._probability

    def process(self, pcm: bytes, room: bool = True) -> VadResult:
        """Judge the next frame (exactly ``FRAME_BYTES``); raise ValueError otherwise.

        ``room``: the candidate is not talking, so the frame is the room's sound
        (see the module's docstring); a stream without turns is all room.
        """
        if len(pcm) != FRAME_BYTES:
            raise ValueError(f"VAD frames are {FRAME_BYTES} bytes, got {len(pcm)}")
        resampled = to_samples(self._resampler.process(pcm)).astype(np.float32) / FULL_SCALE
        self._pending = np.concatenate([self._pending, resampled])
        while self._pending.size >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            self._score(window)
        x = to_samples(pcm).astype(np.float64)
        level = dbfs(float(np.dot(x, x)) / x.size)
        voiced = self._probability >= self.settings.threshold
        self._recent.append(level)
        self._learn(level, voiced, room)
        self._heard_ms += FRAME_MS
        if self.settings.foreground_db == 0:
            return self._smoothing.verdict(voiced, level, FLOOR_DBFS)
        if self._heard_ms <= self.settings.background_min_ms:
            return self._smoothing.verdict(False, level, FLOOR_DBFS)
        background = self._room_of_voices()
        speech = voiced and (background is None or self._stands_out(background))
        floor = FLOOR_DBFS if background is None else background
        return self._smoothing.verdict(speech, level, floor)

    def _learn(self, level: float, voiced: bool, room: bool) -> None:
        """Take the frame as the room's sound if it is one."""
        if room and level > NO_AUDIO_DBFS and self._heard_ms >= WARMUP_MS:
            self._levels.append(level)
            self._voiced.append(voiced)

    def _room_of_voices(self) -> float | None:
        """The room's level if it is a room of voices, else None."""
        s = self.settings
        heard = list(self._voiced)
        recent = heard[-(s.voiced_span_ms // FRAME_MS) :]
        if not self._voices and len(recent) * FRAME_MS >= s.voiced_span_ms:
            self._voices = sum(recent) >= s.voiced_room_share * len(recent)
        elif self._voices and len(heard) * FRAME_MS >= s.quiet_room_span_ms:
            self._voices = sum(heard) > s.quiet_room_share * len(heard)
        if not self._voices:
            return None
        return float(np.percentile(self._levels, s.background_percentile))

    def _stands_out(self, room: float) -> bool:
        """Whether the latest audio stands out of the room as a near voice."""
        return max(self._recent) >= room + self.settings.foreground_db

    def _score(self, window: npt.NDArray[np.float32]) -> None:
        framed = np.concatenate([self._context, window])[np.newaxis]
        self._probability, self._state = self._model.score(framed, self._state)
        self._context = window[-CONTEXT:]
        self._windows += 1
        s = self.settings
        self._quiet_run = self._quiet_run + 1 if self._probability < s.quiet_below else 0
        if (
            self._windows >= self._reset_windows
            and self._quiet_run >= s.quiet_windows
            and not self._smoothing.speaking
        ):
            self._clear_model()

    def _clear_model(self) -> None:
        self._state = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._windows = 0
        self._quiet_run = 0


class SileroModel:
    """The loaded Silero VAD ONNX session; stateless, so detectors may share it."""

    def __init__(self, path: Path) -> None:
        """Load the model at ``path``; raise ModelError if it is not Silero VAD v5."""
        self.path = path
        self._session = open_session(path)
        names = {i.name for i in self._session.get_inputs()}
        if names != {"input", "state", "sr"}:
            raise ModelError(f"{path} is not a Silero VAD v5 model: inputs {sorted(names)}")
        self._rate = np.array(MODEL_RATE, dtype=np.int64)

    def score(
        self, framed: npt.NDArray[np.float32], state: npt.NDArray[np.float32]
    ) -> tuple[float, npt.NDArray[np.float32]]:
        """Speech probability of one context-prefixed window, and the next state."""
        try:
            probability, next_state = self._session.run(
                None, {"input": framed, "state": state, "sr": self._rate}
            )
        except Exception as exc:  # onnxruntime raises its own untyped exceptions
            raise ModelError(f"Silero VAD failed: {exc}") from exc
        return float(np.asarray(probability).reshape(-1)[0]), np.asarray(next_state, np.float32)

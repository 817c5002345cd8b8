"""Voice activity detection on 20 ms frames, for turn-taking and barge-in.

Each frame is judged on two cheap features of one windowed FFT:

* **loudness**: speech-band (300 to 3400 Hz) level against an adaptive noise
  floor that falls quickly and rises slowly, so steady background sound
  (fans, hum, room tone) stops counting after a few seconds;
* **tilt-free spectral flatness** in the speech band: the log power spectrum
  minus its best straight line over log frequency. Harmonics and formants
  leave large residual peaks (flatness near 0); noise of any colour (white,
  pink, brown) leaves only random ripple (flatness near 0.5 and above).

Per-frame decisions are smoothed with hysteresis: ``speaking`` turns on after
``start_ms`` of consecutive speech frames and off after ``hangover_ms`` of
consecutive non-speech frames, which bridges unvoiced consonants and short
gaps. Deciding that a turn has *ended* (a longer silence) is the caller's job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from audio.frames import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE, ms_to_frames, to_samples
from audio.level import FLOOR_DBFS, FULL_SCALE

SPEECH_LOW_HZ = 300.0
SPEECH_HIGH_HZ = 3400.0

_WINDOW = np.hanning(FRAME_SAMPLES)
# Hann window power gain, so spectral sums come out as time-domain mean squares.
_WINDOW_POWER = float(np.sum(_WINDOW**2)) * FRAME_SAMPLES / 2.0
_FREQS = np.fft.rfftfreq(FRAME_SAMPLES, 1.0 / SAMPLE_RATE)
_BAND = (SPEECH_LOW_HZ <= _FREQS) & (_FREQS <= SPEECH_HIGH_HZ)
# Least-squares fit of log power against [1, log f] over the band: the
# residual is the spectrum with its overall tilt (noise colour) removed.
_TILT_DESIGN = np.stack([np.ones(int(_BAND.sum())), np.log(_FREQS[_BAND])], axis=1)
_TILT_FIT = np.linalg.pinv(_TILT_DESIGN)
# Keeps logs finite on digital silence; far below one LSB of energy per bin.
_TINY = 1e-12


@dataclass(frozen=True, slots=True)
class VadSettings:
    """Tuning of :class:`VoiceActivityDetector`; defaults suit a headset or laptop mic.

    A frame is speech when its speech-band level exceeds both the noise floor
    by ``snr_db`` and ``min_level_dbfs``, and its tilt-free speech-band
    flatness (0..1) is below ``max_flatness``.
    """

    snr_db: float = 10.0
    min_level_dbfs: float = -55.0
    max_flatness: float = 0.3
    start_ms: int = 60
    hangover_ms: int = 300
    initial_floor_dbfs: float = -70.0
    # Time constants of the noise floor, in seconds: it drops towards quieter
    # frames almost at once and climbs towards louder ones slowly, so speech
    # pauses pull it down while steady noise lifts it within a few seconds.
    floor_fall_s: float = 0.04
    floor_rise_s: float = 3.0

    def __post_init__(self) -> None:
        checks = {
            "snr_db": self.snr_db >= 0.0,
            "max_flatness": 0.0 < self.max_flatness <= 1.0,
            "start_ms": self.start_ms > 0,
            "hangover_ms": self.hangover_ms > 0,
            "floor_fall_s": self.floor_fall_s > 0.0,
            "floor_rise_s": self.floor_rise_s > 0.0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"VadSettings.{name} out of range: {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class VadResult:
    """The verdict on one frame.

    ``is_speech`` is the raw per-frame decision; ``speaking`` the smoothed
    state after this frame, with ``started``/``ended`` true on the frame where
    it switched on/off. Levels are in dBFS (see :mod:`audio.level`); the noise
    floor is that of the speech band.
    """

    is_speech: bool
    speaking: bool
    started: bool
    ended: bool
    level_dbfs: float
    noise_floor_dbfs: float


class Hysteresis:
    """The smoothed ``speaking`` state over raw per-frame decisions.

    It turns on after ``start_ms`` of consecutive speech frames and off after
    ``hangover_ms`` of consecutive non-speech frames. Every detector holds one.
    """

    def __init__(self, start_ms: int, hangover_ms: int) -> None:
        self._start_frames = ms_to_frames(start_ms)
        self._hangover_frames = ms_to_frames(hangover_ms)
        self.reset()

    def reset(self) -> None:
        self.speaking = False
        self._run = 0  # consecutive frames disagreeing with ``speaking``

    def verdict(self, is_speech: bool, level_dbfs: float, noise_floor_dbfs: float) -> VadResult:
        """Advance by one frame's raw decision and describe the frame."""
        was_speaking = self.speaking
        self._run = 0 if is_speech == was_speaking else self._run + 1
        needed = self._hangover_frames if was_speaking else self._start_frames
        if self._run >= needed:
            self.speaking = not was_speaking
            self._run = 0
        return VadResult(
            is_speech=is_speech,
            speaking=self.speaking,
            started=self.speaking and not was_speaking,
            ended=was_speaking and not self.speaking,
            level_dbfs=level_dbfs,
            noise_floor_dbfs=noise_floor_dbfs,
        )


def _floor_rate(frame_s: float, time_constant_s: float) -> float:
    return 1.0 - math.exp(-frame_s / time_constant_s)


def dbfs(mean_square: float) -> float:
    """Level in dBFS of a PCM16-scaled mean square, clamped at ``FLOOR_DBFS``."""
    return max(FLOOR_DBFS, 10.0 * math.log10(mean_square / FULL_SCALE**2 + _TINY))


class VoiceActivityDetector:
    """Stateful detector fed consecutive 20 ms, 24 kHz mono PCM16 frames.

    State is a handful of numbers; memory does not grow. Not thread-safe: one
    detector per audio stream.
    """

    def __init__(self, settings: VadSettings | None = None) -> None:
        self.settings = settings or VadSettings()
        frame_s = FRAME_SAMPLES / SAMPLE_RATE
        self._fall = _floor_rate(frame_s, self.settings.floor_fall_s)
        self._rise = _floor_rate(frame_s, self.settings.floor_rise_s)
        self._smoothing = Hysteresis(self.settings.start_ms, self.settings.hangover_ms)
        self.reset()

    def reset(self) -> None:
        """Forget the noise floor and the speaking state, as for a new stream."""
        self._floor_dbfs = self.settings.initial_floor_dbfs
        self._smoothing.reset()

    @property
    def speaking(self) -> bool:
        """The smoothed state after the last frame."""
        return self._smoothing.speaking

    def process(self, pcm: bytes, room: bool = True) -> VadResult:
        """Judge the next frame (exactly ``FRAME_BYTES``); raise ValueError otherwise.

        ``room`` (whether the candidate is silent) is for `audio.silero`'s gate; this
        detector's noise floor follows every frame.
        """
        if len(pcm) != FRAME_BYTES:
            raise ValueError(f"VAD frames are {FRAME_BYTES} bytes, got {len(pcm)}")
        x = to_samples(pcm).astype(np.float64)
        mean_square = float(np.dot(x, x)) / FRAME_SAMPLES
        power = np.abs(np.fft.rfft(x * _WINDOW)) ** 2 + _TINY
        band = power[_BAND]
        log_band = np.log(band)
        residual = log_band - _TILT_DESIGN @ (_TILT_FIT @ log_band)
        # The fit has an intercept, so the residual's mean (the log of its
        # geometric mean) is 0 and flatness reduces to 1 / arithmetic mean.
        flatness = 1.0 / float(np.mean(np.exp(residual)))
        band_dbfs = dbfs(float(band.sum()) / _WINDOW_POWER)

        s = self.settings
        loud = band_dbfs > max(self._floor_dbfs + s.snr_db, s.min_level_dbfs)
        is_speech = loud and flatness < s.max_flatness
        rate = self._fall if band_dbfs < self._floor_dbfs else self._rise
        self._floor_dbfs += (band_dbfs - self._floor_dbfs) * rate

        return self._smoothing.verdict(is_speech, dbfs(mean_square), self._floor_dbfs)

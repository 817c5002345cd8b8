"""Speech in noise for the VAD comparison: eSpeak NG answers, synthetic rooms.

Everything is made here and deterministic (fixed seeds, fixed texts): a
track is a few eSpeak NG voices reading interview answers with pauses
between them, with noise-only stretches at both ends; its frame-level truth
comes from the clean speech's energy. Three noises, all at 24 kHz:

* **fan**: brown noise low-passed at 1 kHz, slowly modulated at the blade
  rate, with a 100 Hz motor hum and its harmonics;
* **babble**: six other eSpeak voices reading other sentences at once;
* **keyboard**: 5-15 ms clicks (decaying bursts of high-passed noise) at a
  typist's 4-9 keys per second, with random gaps and strengths.

Noise is scaled to a signal-to-noise ratio measured on speech frames only:
``10 log10(mean speech power / mean noise power)``.
"""

from __future__ import annotations

import itertools
import math
import subprocess

import numpy as np
import numpy.typing as npt

from audio.frames import FRAME_SAMPLES, SAMPLE_RATE
from audio.resample import resample

Signal = npt.NDArray[np.float64]

ESPEAK_RATE = 22_050
ESPEAK_HEADER_BYTES = 44
SYNTH_TIMEOUT_SEC = 30.0
# A clean frame this far below the track's loudest frame is not speech.
TRUTH_BELOW_PEAK_DB = 40.0
# Gaps shorter than this inside speech (stops, word joins) are still speech.
TRUTH_BRIDGE_FRAMES = 5
VOICES = ("en-us", "en-gb", "en-us+f3", "en-us+m3")
ANSWERS = (
    "I have spent six years building payment systems in Python and Go.",
    "Last year I led the migration of our ledger to a new database.",
    "When an incident starts, I first make sure customers are safe.",
    "In code review I look for clear names and small functions.",
    "The hardest decision I made was to stop a project.",
)
BABBLE = (
    ("en-us+f2", "Did you see the game last night? It went into overtime."),
    ("en-gb+m2", "We should book the meeting room for Thursday afternoon."),
    ("en-us+f4", "The coffee machine on the third floor is broken again."),
    ("en-gb+f3", "I think the train was late because of the weather."),
    ("en-us+m4", "Can you send me the slides before the call tomorrow?"),
    ("en-us+m1", "My sister is moving to a new flat in the spring."),
)
LEAD_SEC = 3.0
PAUSES_SEC = (0.8, 1.5, 0.5, 2.0, 1.0)


def speak(text: str, voice: str) -> Signal:
    """``text`` read by eSpeak NG ``voice``, as PCM16-scaled floats at 24 kHz."""
    wav = subprocess.run(
        ["espeak-ng", "--stdout", "-v", voice, text],
        check=True,
        capture_output=True,
        timeout=SYNTH_TIMEOUT_SEC,
    ).stdout[ESPEAK_HEADER_BYTES:]
    wav = wav[: len(wav) - len(wav) % 2]
    pcm = resample(wav, ESPEAK_RATE, SAMPLE_RATE)
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def answer_track(voice: str) -> Signal:
    """Noise-only lead, the answers with pauses between them, noise-only tail; whole frames."""
    lead = np.zeros(int(LEAD_SEC * SAMPLE_RATE))
    parts = [lead]
    for text, pause in zip(ANSWERS, PAUSES_SEC, strict=True):
        parts += [speak(text, voice), np.zeros(int(pause * SAMPLE_RATE))]
    parts.append(lead)
    track = np.concatenate(parts)
    return track[: track.size - track.size % FRAME_SAMPLES]


def frame_truth(clean: Signal) -> npt.NDArray[np.bool_]:
    """Speech frames of a clean track: energy within 40 dB of its peak, short gaps bridged."""
    frames = clean.reshape(-1, FRAME_SAMPLES)
    power_db = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-9)
    active: npt.NDArray[np.bool_] = power_db > power_db.max() - TRUTH_BELOW_PEAK_DB
    truth = active.copy()
    indices = np.flatnonzero(active)
    for before, after in itertools.pairwise(indices):
        if 1 < after - before <= TRUTH_BRIDGE_FRAMES:
            truth[before:after] = True
    return truth


def fan(n: int, seed: int) -> Signal:
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    freqs[0] = freqs[1]
    lowpass = 1.0 / (1.0 + (freqs / 1000.0) ** 4)
    rumble = np.fft.irfft(spectrum / freqs * lowpass, n)
    rumble /= np.std(rumble)
    t = np.arange(n) / SAMPLE_RATE
    rumble *= 1.0 + 0.2 * np.sin(2.0 * math.pi * 7.5 * t)
    hum = sum(0.3 / k * np.sin(2.0 * math.pi * 100.0 * k * t + k) for k in range(1, 5))
    out: Signal = rumble + hum
    return out


def babble(n: int, seed: int) -> Signal:
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    for voice, text in BABBLE:
        talk = speak(text, voice)
        talk = np.concatenate([talk, np.zeros(int(0.3 * SAMPLE_RATE))])
        looped = np.tile(talk, n // talk.size + 2)
        start = int(rng.integers(0, talk.size))
        out += looped[start : start + n]
    return out


def keyboard(n: int, seed: int) -> Signal:
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    at = int(rng.integers(0, SAMPLE_RATE // 4))
    while at < n:
        length = int(rng.uniform(0.005, 0.015) * SAMPLE_RATE)
        burst = np.diff(rng.standard_normal(length + 1))  # high-passed
        burst *= np.exp(-np.arange(length) / (length / 4.0)) * rng.uniform(0.3, 1.0)
        end = min(n, at + length)
        out[at:end] += burst[: end - at]
        at += int(SAMPLE_RATE / rng.uniform(4.0, 9.0))
    return out


NOISES = {"fan": fan, "babble": babble, "keyboard": keyboard}


def mix(clean: Signal, truth: npt.NDArray[np.bool_], noise: Signal, snr_db: float) -> bytes:
    """``clean`` plus ``noise`` scaled to ``snr_db`` on the speech frames, as PCM16 bytes."""
    speech = clean.reshape(-1, FRAME_SAMPLES)[truth]
    speech_power = float(np.mean(speech**2))
    noise_power = float(np.mean(noise**2))
    gain = math.sqrt(speech_power / noise_power / 10.0 ** (snr_db / 10.0))
    return to_pcm(clean + gain * noise)


def to_pcm(signal: Signal) -> bytes:
    """PCM16-scaled floats as PCM16 bytes, clipped at full scale."""
    return np.clip(np.round(signal), -32768, 32767).astype("<i2").tobytes()

"""Whisper-style log-mel spectrogram of 16 kHz audio, the input of Smart Turn v3.

The recipe (that of OpenAI Whisper's front end, and of the Hugging Face
``WhisperFeatureExtractor`` the model was trained with, here at an 8 s chunk):

1. the 8 s window (128,000 samples) is scaled to zero mean and unit variance;
2. a centred short-time Fourier transform: 25 ms periodic-Hann frames
   (400 samples) every 10 ms (160 samples), the signal reflect-padded by half
   a frame at each end, giving 801 frames of 201 power bins;
3. 80 triangular mel filters on the Slaney scale (linear to 1 kHz, logarithmic
   above) from 0 to 8 kHz, each scaled to unit area ("Slaney" normalisation);
4. ``log10`` of the mel power (floored at 1e-10), the last frame dropped, the
   range clipped to 8 decades (80 dB) below the window's peak, then mapped by
   ``(x + 4) / 4`` to roughly -1..1.

Everything is computed in float64 and returned as float32 of shape (80, 800).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

MODEL_RATE = 16_000
WINDOW_SECONDS = 8
WINDOW_SAMPLES = MODEL_RATE * WINDOW_SECONDS  # 128,000
N_FFT = 400
HOP = 160
N_MELS = 80
N_FRAMES = WINDOW_SAMPLES // HOP  # 800
DYNAMIC_RANGE_DECADES = 8.0
MEL_FLOOR = 1e-10
# Keeps the variance normalisation finite on an all-zero window.
VARIANCE_EPSILON = 1e-7

# Slaney's mel scale: 3 mels per 200 Hz up to 1 kHz (15 mels), then
# 27 mels per factor 6.4 in frequency.
_LINEAR_HZ_PER_MEL = 200.0 / 3.0
_BREAK_HZ = 1000.0
_BREAK_MEL = _BREAK_HZ / _LINEAR_HZ_PER_MEL
_MELS_PER_LOG_HZ = 27.0 / math.log(6.4)

Features = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]


def hz_to_mel(hz: Floats) -> Floats:
    """Slaney mel of each frequency in ``hz``."""
    above = np.maximum(hz, _BREAK_HZ)
    mel: Floats = np.where(
        hz < _BREAK_HZ,
        hz / _LINEAR_HZ_PER_MEL,
        _BREAK_MEL + np.log(above / _BREAK_HZ) * _MELS_PER_LOG_HZ,
    )
    return mel


def mel_to_hz(mel: Floats) -> Floats:
    """Frequency in Hz of each Slaney mel in ``mel`` (inverse of :func:`hz_to_mel`)."""
    above = np.maximum(mel, _BREAK_MEL)
    hz: Floats = np.where(
        mel < _BREAK_MEL,
        mel * _LINEAR_HZ_PER_MEL,
        _BREAK_HZ * np.exp((above - _BREAK_MEL) / _MELS_PER_LOG_HZ),
    )
    return hz


def mel_filters(n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = MODEL_RATE) -> Floats:
    """Triangular unit-area filters, shape ``(n_mels, n_fft // 2 + 1)``.

    Filter ``m`` rises from edge ``m`` to a peak at edge ``m + 1`` and falls
    to zero at edge ``m + 2``, the ``n_mels + 2`` edges evenly spaced in mel
    from 0 Hz to Nyquist.
    """
    nyquist = rate / 2.0
    edges_mel = np.linspace(0.0, float(hz_to_mel(np.array([nyquist]))[0]), n_mels + 2)
    edges = mel_to_hz(edges_mel)
    bins = np.linspace(0.0, nyquist, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    triangles = np.clip(np.minimum(rising, falling), 0.0, None)
    area_scale = 2.0 / (upper - lower)
    filters: Floats = triangles * area_scale
    return filters


def _periodic_hann(length: int) -> Floats:
    n = np.arange(length, dtype=np.float64)
    window: Floats = 0.5 - 0.5 * np.cos(2.0 * math.pi * n / length)
    return window


_FILTERS = mel_filters()
_FILTERS.setflags(write=False)
_HANN = _periodic_hann(N_FFT)
_HANN.setflags(write=False)


def fit_window(samples: npt.NDArray[np.floating]) -> Floats:
    """The last 8 s of ``samples`` (16 kHz), zero-padded at the front when shorter."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    if x.size >= WINDOW_SAMPLES:
        return x[-WINDOW_SAMPLES:].copy()
    return np.concatenate([np.zeros(WINDOW_SAMPLES - x.size), x])


def log_mel(window: npt.NDArray[np.floating]) -> Features:
    """Features of exactly one 8 s window at 16 kHz, shape ``(N_MELS, N_FRAMES)``.

    Raise ValueError for any other length (see :func:`fit_window`).
    """
    x = np.asarray(window, dtype=np.float64)
    if x.shape != (WINDOW_SAMPLES,):
        raise ValueError(f"log_mel takes {WINDOW_SAMPLES} samples, got shape {x.shape}")
    x = (x - x.mean()) / math.sqrt(float(x.var()) + VARIANCE_EPSILON)
    padded = np.pad(x, N_FFT // 2, mode="reflect")
    starts = np.arange(N_FRAMES + 1) * HOP
    frames = padded[starts[:, None] + np.arange(N_FFT)[None, :]]
    power = np.abs(np.fft.rfft(frames * _HANN, axis=1)) ** 2
    mel = np.log10(np.maximum(power @ _FILTERS.T, MEL_FLOOR)).T[:, :N_FRAMES]
    mel = np.maximum(mel, mel.max() - DYNAMIC_RANGE_DECADES)
    features: Features = ((mel + 4.0) / 4.0).astype(np.float32)
    return features

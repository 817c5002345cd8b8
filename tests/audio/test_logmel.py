"""Whisper log-mel features: the shape and scale Smart Turn was trained on."""

from __future__ import annotations

import numpy as np
import pytest

from audio.logmel import (
    MODEL_RATE,
    N_FFT,
    N_FRAMES,
    N_MELS,
    WINDOW_SAMPLES,
    fit_window,
    hz_to_mel,
    log_mel,
    mel_filters,
    mel_to_hz,
)

# transformers 5.24 WhisperFeatureExtractor(chunk_length=8) on `reference_signal()`
# (do_normalize=True, padding="max_length"): (mel, frame) -> value, and the mean.
REFERENCE_POINTS = {(10, 600): 1.63538, (12, 650): 1.58085, (20, 650): -0.1255, (45, 500): 0.44636}
REFERENCE_MEAN = -0.04315


def reference_signal() -> np.ndarray:
    """3 s of a modulated 440 Hz tone, a 2.5 kHz tone and a chirp, after 5 s of zeros."""
    n = 3 * MODEL_RATE
    t = np.arange(n) / MODEL_RATE
    x = (
        0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 3 * t))
        + 0.05 * np.sin(2 * np.pi * 2500 * t)
        + 0.02 * np.sin(2 * np.pi * (200 + 1000 * t) * t)
    )
    return np.concatenate([np.zeros(WINDOW_SAMPLES - n), x]).astype(np.float32)


def test_features_match_the_reference_extractor() -> None:
    features = log_mel(reference_signal())
    assert features.shape == (N_MELS, N_FRAMES) and features.dtype == np.float32
    for (mel, frame), value in REFERENCE_POINTS.items():
        assert features[mel, frame] == pytest.approx(value, abs=1e-4)
    assert float(features.mean()) == pytest.approx(REFERENCE_MEAN, abs=1e-4)


def test_silence_sits_at_the_floor() -> None:
    features = log_mel(np.zeros(WINDOW_SAMPLES))
    assert np.all(features == -1.5)


def test_a_tone_peaks_in_its_own_mel_band() -> None:
    t = np.arange(WINDOW_SAMPLES) / MODEL_RATE
    features = log_mel(np.sin(2 * np.pi * 1000.0 * t))
    peak_band = int(np.argmax(features[:, 400]))
    edges = mel_to_hz(np.linspace(0.0, float(hz_to_mel(np.array([8000.0]))[0]), N_MELS + 2))
    assert edges[peak_band] < 1000.0 < edges[peak_band + 2]
    assert features.max() <= 2.5 and features.min() >= features.max() - 2.0


def test_mel_scale_is_slaney() -> None:
    """Linear to 1 kHz (15 mels there), logarithmic above, and invertible."""
    hz = np.array([0.0, 500.0, 1000.0, 4000.0, 8000.0])
    assert hz_to_mel(hz)[2] == pytest.approx(15.0)
    assert hz_to_mel(hz)[1] == pytest.approx(7.5)
    assert mel_to_hz(hz_to_mel(hz)) == pytest.approx(hz)


def test_each_filter_has_unit_area() -> None:
    filters = mel_filters()
    bin_hz = MODEL_RATE / N_FFT
    areas = filters.sum(axis=1) * bin_hz
    # Each triangle is sampled by a handful of 40 Hz FFT bins, so its sum wobbles.
    assert areas == pytest.approx(np.ones(N_MELS), rel=0.1)
    assert float(areas.mean()) == pytest.approx(1.0, rel=0.01)


def test_window_keeps_the_last_eight_seconds_and_pads_the_front() -> None:
    short = fit_window(np.ones(1000))
    assert short.shape == (WINDOW_SAMPLES,) and short[:-1000].sum() == 0 and short[-1] == 1
    long = fit_window(np.arange(WINDOW_SAMPLES + 5, dtype=np.float64))
    assert long[0] == 5
    with pytest.raises(ValueError):
        log_mel(np.zeros(1000))

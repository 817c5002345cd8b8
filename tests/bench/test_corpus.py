"""The conversation corpus hears every variant from both synthesizers, and the
report gives each synthesizer's figures apart."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from zenhire.bench import conversation
from zenhire.bench.corpus import SYNTHESIZERS, corpus, speech, synthesizer


def test_every_repeated_variant_is_heard_from_both_synthesizers() -> None:
    """Every kind, and every pause length, phrase or token said more than once."""
    items = corpus()
    assert len(items) >= 40
    heard: defaultdict[tuple[str, object], list[str]] = defaultdict(list)
    for item in items:
        variant = item.pause_sec if item.kind == "paused" else item.parts[0]
        heard[(item.kind, None)].append(synthesizer(item.voice))
        if item.kind in ("paused", "thinking", "backchannel") and variant != "cough":
            heard[(item.kind, variant)].append(synthesizer(item.voice))
    one_sided = {
        key: voices
        for key, voices in heard.items()
        if len(voices) > 1 and set(voices) != set(SYNTHESIZERS)
    }
    assert one_sided == {}


def test_a_flite_voice_speaks() -> None:
    pcm = np.frombuffer(speech("Let me think.", "flite:slt"), dtype="<i2")
    assert pcm.size > 24_000 * 0.4  # at least 0.4 s at 24 kHz
    assert np.abs(pcm).max() > 3_000  # voiced, not silence


def test_the_report_splits_the_figures_by_synthesizer() -> None:
    items = corpus()
    espeak = next(i for i in items if i.kind == "finished" and synthesizer(i.voice) == "espeak")
    flite = next(i for i in items if i.kind == "finished" and synthesizer(i.voice) == "flite")
    outcomes = [
        conversation.Outcome(espeak, response_ms=500.0),
        conversation.Outcome(flite, response_ms=900.0),
    ]
    figures = conversation.summarize(outcomes)
    assert figures["by_synthesizer"]["espeak"]["response_ms"]["p50"] == 500.0
    assert figures["by_synthesizer"]["flite"]["response_ms"]["p50"] == 900.0
    results = {mode: {**figures, "replies": {}, "breakdown": []} for mode in conversation.MODES}
    table = conversation.markdown({**results, "corpus": len(outcomes)})
    assert "end_of_turn_model, flite" in table

"""The barge-in rule on scripted voice-activity: backchannels resume, sentences interrupt."""

from __future__ import annotations

import pytest

from audio.frames import FRAME_MS
from gateway.interviewer.bargein import (
    BargeInRule,
    BargeInSettings,
    Interrupt,
    Pause,
    Resume,
    Verdict,
)

WARM_MS = 1000  # well past the echo warm-up


def run(rule: BargeInRule, voiced: str, *, playing: bool = True) -> list[tuple[int, Verdict]]:
    """Feed one frame per character of ``voiced`` ("x" voiced, "." not) while the
    interviewer plays (``playing``, unless paused or cut); the verdicts with their frame times."""
    verdicts: list[tuple[int, Verdict]] = []
    for i, mark in enumerate(voiced):
        t_ms = i * FRAME_MS
        cut = any(isinstance(verdict, Interrupt) for _, verdict in verdicts)
        audible = playing and not rule.paused and not cut
        verdict = rule.step(t_ms, mark == "x", audible, WARM_MS + t_ms if audible else 0)
        if verdict is not None:
            verdicts.append((t_ms, verdict))
    return verdicts


def test_a_sentence_pauses_within_200_ms_of_its_onset_then_interrupts() -> None:
    rule = BargeInRule()
    verdicts = run(rule, "....." + "xxxx.xxxxxx." + "x" * 50 + "....")
    (pause_ms, pause), (_, interrupt) = verdicts
    onset_ms = 5 * FRAME_MS
    assert pause == Pause(onset_ms) and pause_ms - onset_ms <= 200 - FRAME_MS
    assert interrupt == Interrupt(onset_ms)


@pytest.mark.parametrize(
    "burst",
    [
        "xxxxxxxxxx",  # "okay": 200 ms
        "xxxxx..xxxxxxxxx",  # "mm-hm": two syllables, 320 ms voiced
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",  # a drawn-out "mm-hm": 780 ms
    ],
)
def test_a_backchannel_pauses_and_resumes(burst: str) -> None:
    rule = BargeInRule()
    verdicts = [verdict for _, verdict in run(rule, "..." + burst + "." * 20)]
    assert verdicts == [Pause(3 * FRAME_MS), Resume()]


def test_a_click_or_knock_does_not_even_pause() -> None:
    rule = BargeInRule()
    assert run(rule, "..x....x...xx......x.." * 3) == []


def test_speech_in_the_echo_warm_up_is_not_the_candidate() -> None:
    rule = BargeInRule(BargeInSettings(echo_warmup_ms=300))
    verdicts = []
    for i in range(30):
        t_ms = i * FRAME_MS
        verdict = rule.step(t_ms, True, True, played_ms=t_ms)
        if verdict is not None:
            verdicts.append((t_ms, verdict))
    [(pause_ms, pause)] = verdicts
    # The burst counts from the first frame past the warm-up.
    assert pause == Pause(300) and pause_ms < 300 + 200


def test_nothing_happens_while_the_interviewer_is_quiet() -> None:
    rule = BargeInRule()
    assert run(rule, "x" * 80, playing=False) == []


def test_settings_refuse_a_backchannel_limit_below_the_pause() -> None:
    with pytest.raises(ValueError, match="backchannel_max_ms"):
        BargeInSettings(interruption_speech_ms=300, backchannel_max_ms=200)

"""Prompts synthesized ahead: the same audio, no second synthesizer run, bounded memory.

The synthesizer is real eSpeak NG behind a small script that counts its runs
(one line per run in a file), so a test can tell a prepared sentence from
one synthesized when said.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from pathlib import Path

from gateway.interviewer.local.prepared import PREPARING_NICENESS, PreparedVoice
from gateway.interviewer.local.voice import Voice
from zenhire.tasks import TaskGroup

ACK = "Thank you."
QUESTION = "Tell me about a project you are proud of."
LONG = "Please describe, in as much detail as you like, how your team plans and ships its work."
RATE = 200
WAIT_SEC = 20.0
POLL_SEC = 0.02


def counting_synthesizer(tmp_path: Path, fail_first: bool = False) -> tuple[Path, Path]:
    """A script running espeak-ng that counts its runs (the first fails if asked)."""
    runs = tmp_path / "runs"
    runs.touch()
    script = tmp_path / "synth"
    failing = f'[ -s "{runs}" ] || {{ echo run >> "{runs}"; exit 3; }}\n' if fail_first else ""
    script.write_text(f'#!/bin/sh\n{failing}echo run >> "{runs}"\nexec espeak-ng "$@"\n')
    script.chmod(0o755)
    return script, runs


def run_count(runs: Path) -> int:
    return len(runs.read_text().splitlines())


async def spoken(voice: Voice | PreparedVoice, sentence: str) -> bytes:
    async with aclosing(voice.stream(sentence)) as chunks:
        return b"".join([pcm async for pcm in chunks])


@asynccontextmanager
async def preparing(voice: PreparedVoice) -> AsyncIterator[PreparedVoice]:
    async with TaskGroup() as group:
        task = group.create_task(voice.run())
        try:
            yield voice
        finally:
            task.cancel()


async def until(check: Callable[[], bool]) -> None:
    for _ in range(round(WAIT_SEC / POLL_SEC)):
        if check():
            return
        await asyncio.sleep(POLL_SEC)
    raise AssertionError(f"not within {WAIT_SEC} s")


async def test_a_prepared_prompt_sounds_the_same_and_runs_no_second_synthesis(
    tmp_path: Path,
) -> None:
    script, runs = counting_synthesizer(tmp_path)
    reference = Voice("en-us", RATE)
    async with preparing(PreparedVoice(Voice("en-us", RATE, str(script)))) as voice:
        voice.prepare(f"{ACK} {QUESTION}")
        await until(lambda: voice.is_prepared(QUESTION))
        assert await spoken(voice, ACK) == await spoken(reference, ACK)
        assert await spoken(voice, QUESTION) == await spoken(reference, QUESTION)
        assert await spoken(voice, ACK) == await spoken(reference, ACK)
    assert run_count(runs) == 2


async def test_a_prompt_not_prepared_is_synthesized_when_said(tmp_path: Path) -> None:
    script, runs = counting_synthesizer(tmp_path)
    async with preparing(PreparedVoice(Voice("en-us", RATE, str(script)))) as voice:
        assert not voice.is_prepared(QUESTION)
        assert await spoken(voice, QUESTION) == await spoken(Voice("en-us", RATE), QUESTION)
    assert run_count(runs) == 1


async def test_past_its_bound_the_least_recently_used_prompt_is_dropped(tmp_path: Path) -> None:
    """Room for about one long sentence: preparing a second drops the first."""
    script, runs = counting_synthesizer(tmp_path)
    long_bytes = len(await spoken(Voice("en-us", RATE), LONG))
    bounded = PreparedVoice(Voice("en-us", RATE, str(script)), max_bytes=long_bytes + 1000)
    async with preparing(bounded) as voice:
        voice.prepare(LONG, QUESTION)
        await until(lambda: voice.is_prepared(QUESTION))
        await spoken(voice, QUESTION)  # waits for its preparation to finish
        assert run_count(runs) == 2
        await spoken(voice, LONG)
        assert run_count(runs) == 3  # dropped: synthesized again
        await spoken(voice, QUESTION)
        assert run_count(runs) == 3


async def test_a_failed_preparation_leaves_the_prompt_to_be_synthesized_when_said(
    tmp_path: Path,
) -> None:
    script, runs = counting_synthesizer(tmp_path, fail_first=True)
    async with preparing(PreparedVoice(Voice("en-us", RATE, str(script)))) as voice:
        voice.prepare(QUESTION)
        await until(lambda: run_count(runs) == 1 and not voice.is_prepared(QUESTION))
        assert await spoken(voice, QUESTION) == await spoken(Voice("en-us", RATE), QUESTION)
    assert run_count(runs) == 2


def niceness_noting_synthesizer(tmp_path: Path) -> tuple[Path, Path]:
    """A script running espeak-ng that notes its niceness once its text is in: the
    gateway sets the niceness before it writes the text."""
    noted = tmp_path / "niceness"
    script = tmp_path / "synth"
    script.write_text(
        f'#!/bin/sh\ntext=$(cat)\nnice >> "{noted}"\nprintf "%s" "$text" | espeak-ng "$@"\n'
    )
    script.chmod(0o755)
    return script, noted


async def test_preparing_yields_the_core_to_the_recognizer_and_a_prompt_being_said(
    tmp_path: Path,
) -> None:
    script, noted = niceness_noting_synthesizer(tmp_path)
    ours = os.nice(0)
    await spoken(Voice("en-us", RATE, str(script)), ACK)
    async with preparing(PreparedVoice(Voice("en-us", RATE, str(script)))) as voice:
        voice.prepare(QUESTION)
        await until(lambda: voice.is_prepared(QUESTION))
        await spoken(voice, QUESTION)  # from its preparation, once that is done
    said, prepared = (int(line) for line in noted.read_text().split())
    assert said == ours
    assert prepared == min(19, ours + PREPARING_NICENESS)

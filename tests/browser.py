"""Headless Chromium (Debian's package) driven by Playwright, with a fake
microphone that plays a WAV file, and screenshots kept for people to look at."""

from __future__ import annotations

import re
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from audio.frames import SAMPLE_RATE

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def write_mic_file(path: Path, pcm: bytes) -> Path:
    """A mono PCM16 WAV for Chromium's fake microphone (which loops it)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm)
    return path.resolve()


@asynccontextmanager
async def chromium(
    mic_file: Path | None = None, extra_args: tuple[str, ...] = ()
) -> AsyncIterator[Browser]:
    args = list(BASE_ARGS) + list(extra_args)
    if mic_file is not None:
        # Chromium needs an absolute path; a relative one silently gives a silent mic.
        assert mic_file.is_absolute(), mic_file
        args.append(f"--use-file-for-fake-audio-capture={mic_file}")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            await browser.close()


class Screenshots:
    """Numbered screenshots of one test, under test-artifacts/screenshots/<name>/."""

    def __init__(self, page: Page, name: str) -> None:
        self._page = page
        self.folder = SCREENSHOT_DIR / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self._count = 0

    async def take(self, label: str, *, full_page: bool = True) -> Path:
        """Save the next screenshot; ``full_page=False`` for modal dialogs, whose
        fixed backdrop covers only the viewport in a full-page capture."""
        self._count += 1
        path = self.folder / f"{self._count:02d}-{label}.png"
        await self._page.screenshot(path=str(path), full_page=full_page)
        return path


async def wait_for_phase(page: Page, phase: str, timeout_ms: float = 20_000) -> None:
    await page.wait_for_function(
        "phase => document.body.dataset.phase === phase", arg=phase, timeout=timeout_ms
    )


def watch_console(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of ``page``, collected as they happen."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems

"""The interviewer's voice from the upstream: queued, played, paused, cut, captioned, recorded.

Upstream audio arrives faster than real time. `feed` queues it in a bounded
backlog (`MAX_BACKLOG_MS`; past it, feeding waits, which pauses reading the
upstream); one player task moves it into the session's paced playout. Each
spoken item is counted from its own `Conversation.mark_item`: the player
lets the previous item finish (`drain`) before marking the next, so
`stop_playback` returns exactly the milliseconds heard of the item playing.

`pause` stops the interviewer at once (candidate speech that may be an
interruption) and puts what the candidate has not heard yet back at the
head of the backlog; `resume` plays it on, from the very sample where it
stopped, counted as the same item. `cut` (and `barge_in`, which also
records) ends it for good: it cancels the player before it can queue
another byte, drops the backlog and the playout, and reports what was
heard of each cut item, for ``conversation.item.truncate``. A finished item
(played to its end, or cut) becomes a final caption, a transcript turn and
a history entry; a cut item keeps the part of its transcript that matches
the share of its audio heard.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from itertools import count

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE
from gateway.interviewer import Conversation, Turn
from gateway.interviewer.realtime.history import History
from gateway.session.events import Caption, State, TalkState
from zenhire.tasks import TaskGroup

BYTES_PER_MS = SAMPLE_RATE * SAMPLE_BYTES // 1000
MAX_BACKLOG_MS = 60_000
MAX_BACKLOG_BYTES = MAX_BACKLOG_MS * BYTES_PER_MS
INTERRUPTED_MARK = "[interrupted]"


@dataclass
class SpokenItem:
    """One assistant audio item of one upstream session (``generation``)."""

    item_id: str
    generation: int
    turn_id: str
    text: str = ""
    received_bytes: int = 0
    start_ms: int | None = None
    end_ms: int | None = None
    audio_done: bool = False
    transcript_done: bool = False
    heard_ms: int | None = None
    recorded: bool = False

    @property
    def received_ms(self) -> int:
        return self.received_bytes // BYTES_PER_MS

    @property
    def cut(self) -> bool:
        return self.heard_ms is not None

    @property
    def interrupted(self) -> bool:
        """Cut before the candidate heard all of it."""
        heard = self.heard_ms
        return heard is not None and not (self.audio_done and heard >= self.received_ms)

    def heard_text(self) -> str:
        """The transcript, shortened to the share of the audio that was heard."""
        if self.heard_ms is None or self.heard_ms >= self.received_ms:
            return self.text
        share = self.heard_ms / self.received_ms if self.received_ms else 0.0
        cut = int(len(self.text) * share)
        heard = self.text[:cut]
        if cut < len(self.text) and not self.text[cut].isspace():
            heard = heard.rsplit(" ", 1)[0] if " " in heard else ""
        return heard.strip()


class Playback:
    def __init__(self, conversation: Conversation, history: History) -> None:
        self._conversation = conversation
        self._history = history
        self._items: dict[tuple[int, str], SpokenItem] = {}
        self._backlog: deque[tuple[SpokenItem, bytes]] = deque()
        self._backlog_bytes = 0
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._idle = asyncio.Event()
        self._restart = asyncio.Event()
        self._current: SpokenItem | None = None
        # The current item's audio handed to the playout and perhaps not heard
        # yet; ``_handed_from`` is its offset in the item, in bytes.
        self._handed = bytearray()
        self._handed_from = 0
        self._paused = False
        self._paused_at_ms = 0
        self._player: asyncio.Task[None] | None = None
        self._turn_ids = count(1)

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing playing, nothing paused."""
        return self._current is None and not self._backlog and not self._conversation.is_playing()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def speaking(self) -> bool:
        """An item is being played (a playout that runs dry for a moment, waiting
        for the upstream, does not end it), and not paused."""
        return self._current is not None and not self._paused

    async def wait_idle(self) -> None:
        while not self.idle:
            self._idle.clear()
            await self._idle.wait()
        await self._conversation.drain()

    async def run(self) -> None:
        """Keep one player task alive (a pause or a cut cancels it; this starts the next)."""
        async with TaskGroup() as group:
            while True:
                self._restart.clear()
                self._player = group.create_task(self._play())
                await self._restart.wait()

    # -- from the upstream ----------------------------------------------------

    async def feed(self, generation: int, item_id: str, pcm: bytes) -> None:
        item = self._item(generation, item_id)
        if item.cut or not pcm:
            return
        while self._backlog_bytes >= MAX_BACKLOG_BYTES:
            self._room.clear()
            await self._room.wait()
        item.received_bytes += len(pcm)
        self._push(item, pcm)

    def audio_done(self, generation: int, item_id: str) -> None:
        item = self._items.get((generation, item_id))
        if item is not None and not item.cut and not item.audio_done:
            item.audio_done = True
            self._push(item, b"")

    async def transcript_delta(self, generation: int, item_id: str, text: str) -> None:
        item = self._item(generation, item_id)
        if item.cut or item.recorded:
            return
        item.text += text
        await self._conversation.send(Caption("interviewer", item.text, False, item.turn_id))

    async def transcript_done(self, generation: int, item_id: str, text: str) -> None:
        item = self._item(generation, item_id)
        if item.cut or item.recorded:
            return
        item.text, item.transcript_done = text, True
        await self._record(item)

    async def abandon(self, generation: int) -> None:
        """The upstream session ``generation`` is gone: finish its items with what arrived."""
        for (owner, _), item in list(self._items.items()):
            if owner == generation and not item.cut:
                item.transcript_done = True
                self.audio_done(generation, item.item_id)
                await self._record(item)

    # -- pause, resume, cut ---------------------------------------------------

    def pause(self) -> None:
        """Stop the interviewer's audio now, keeping what was not heard for `resume`."""
        current = self._current
        if self._paused or current is None:
            return
        self._paused, self._paused_at_ms = True, self._conversation.now_ms()
        self._stop_player()
        heard = self._conversation.stop_playback() * BYTES_PER_MS
        rest = bytes(self._handed[max(0, heard - self._handed_from) :])
        self._handed.clear()
        self._handed_from = heard
        if rest:
            self._backlog.appendleft((current, rest))
            self._backlog_bytes += len(rest)

    def resume(self) -> None:
        """Play on from where `pause` stopped, as the same item."""
        if self._paused:
            self._paused = False
            self._ready.set()

    def cut(self) -> list[SpokenItem]:
        """Stop the interviewer for good; return the cut items (``heard_ms`` set).

        They still need `settle`; `barge_in` does both.
        """
        if self.idle:
            return []
        conversation = self._conversation
        # A paused item ended where the candidate stopped hearing it.
        now = self._paused_at_ms if self._paused else conversation.now_ms()
        self._paused = False
        self._stop_player()
        played = conversation.stop_playback()
        cut: list[SpokenItem] = []
        current, self._current = self._current, None
        if current is not None:
            current.heard_ms, current.end_ms = min(played, current.received_ms), now
            cut.append(current)
        for item, _ in self._backlog:
            if item is not current and not item.cut:
                item.heard_ms, item.end_ms = 0, now
                cut.append(item)
        self._backlog.clear()
        self._backlog_bytes = 0
        self._handed.clear()
        self._room.set()
        self._idle.set()
        return cut

    async def settle(self, cut: list[SpokenItem]) -> None:
        """Caption and record what `cut` stopped; the interviewer listens again."""
        for item in cut:
            await self._record(item)
        if cut:
            await self._conversation.send(State(TalkState.LISTENING))

    async def barge_in(self) -> list[SpokenItem]:
        """`cut`, then `settle`."""
        cut = self.cut()
        await self.settle(cut)
        return cut

    def _stop_player(self) -> None:
        # Cancel the player first: it cannot resume past its current await, so
        # no chunk it was queuing can slip into the playout after the stop.
        if self._player is not None:
            self._player.cancel()
        self._restart.set()

    # -- the player -----------------------------------------------------------

    async def _play(self) -> None:
        """Move the backlog into the playout. An entry leaves the backlog only once
        handed over (audio) or played out (an item's end), so a pause loses nothing."""
        conversation = self._conversation
        while True:
            while self._paused or not self._backlog:
                if self._current is None and not self._backlog:
                    self._idle.set()
                self._ready.clear()
                await self._ready.wait()
            item, pcm = self._backlog[0]
            if item is not self._current:
                if conversation.is_playing():
                    await conversation.drain()
                    continue
                conversation.mark_item()
                self._handed.clear()
                self._handed_from = 0
                item.start_ms, self._current = conversation.now_ms(), item
                await conversation.send(State(TalkState.SPEAKING))
                continue
            if pcm:
                self._backlog.popleft()
                self._backlog_bytes -= len(pcm)
                self._room.set()
                self._hand(pcm)
                await conversation.play(pcm)
                continue
            await conversation.drain()
            self._backlog.popleft()
            item.end_ms, self._current = conversation.now_ms(), None
            await self._record(item)
            if not self._backlog:
                await conversation.send(State(TalkState.LISTENING))

    def _hand(self, pcm: bytes) -> None:
        """Remember ``pcm`` as handed to the playout, forgetting what has been heard."""
        heard = self._conversation.played_ms() * BYTES_PER_MS
        drop = min(len(self._handed), heard - self._handed_from)
        if drop > 0:
            del self._handed[:drop]
            self._handed_from += drop
        self._handed += pcm

    def _push(self, item: SpokenItem, pcm: bytes) -> None:
        self._backlog.append((item, pcm))
        self._backlog_bytes += len(pcm)
        self._idle.clear()
        self._ready.set()

    def _item(self, generation: int, item_id: str) -> SpokenItem:
        key = (generation, item_id)
        if key not in self._items:
            self._items[key] = SpokenItem(
                item_id, generation, f"interviewer-{next(self._turn_ids)}"
            )
        return self._items[key]

    async def _record(self, item: SpokenItem) -> None:
        """Caption, transcript turn and history entry, once the item is over."""
        finished = item.cut or (item.end_ms is not None and item.transcript_done)
        if item.recorded or not finished:
            return
        item.recorded = True
        text = item.heard_text()
        await self._conversation.send(Caption("interviewer", text, True, item.turn_id))
        if item.start_ms is None or item.end_ms is None or not text:
            return
        self._history.add("assistant", text)
        marked = f"{text} {INTERRUPTED_MARK}" if item.interrupted else text
        self._conversation.add_turn(Turn("interviewer", marked, item.start_ms, item.end_ms))

"""The interviewer's voice from the upstream: queued, played, cut, captioned, recorded.

Upstream audio arrives faster than real time. `feed` queues it in a bounded
backlog (`MAX_BACKLOG_MS`; past it, feeding waits, which pauses reading the
upstream); one player task moves it into the session's paced playout. Each
spoken item is counted from its own `Conversation.mark_item`: the player
lets the previous item finish (`drain`) before marking the next, so
`stop_playback` returns exactly the milliseconds heard of the item playing.

`barge_in` cancels the player before it can queue another byte, drops the
backlog and the playout, and reports what was heard of each cut item, for
``conversation.item.truncate``. A finished item (played to its end, or cut)
becomes a final caption, a transcript turn and a history entry; a cut item
keeps the part of its transcript that matches the share of its audio heard.
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
        self._player: asyncio.Task[None] | None = None
        self._turn_ids = count(1)

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing playing."""
        return self._current is None and not self._backlog and not self._conversation.is_playing()

    async def wait_idle(self) -> None:
        while not self.idle:
            self._idle.clear()
            await self._idle.wait()
        await self._conversation.drain()

    async def run(self) -> None:
        """Keep one player task alive (a barge-in cancels it; this starts the next)."""
        async with asyncio.TaskGroup() as group:
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

    # -- barge-in -------------------------------------------------------------

    async def barge_in(self) -> list[SpokenItem]:
        """Stop the interviewer at once; return the cut items (``heard_ms`` set)."""
        conversation = self._conversation
        if self.idle:
            return []
        # Cancel the player first: it cannot resume past its current await, so
        # no chunk it was queuing can slip into the playout after the stop.
        if self._player is not None:
            self._player.cancel()
        self._restart.set()
        played = conversation.stop_playback()
        now = conversation.now_ms()
        cut: list[SpokenItem] = []
        current, self._current = self._current, None
        if current is not None:
            current.heard_ms, current.end_ms = min(played, current.received_ms), now
            cut.append(current)
        for item, _ in self._backlog:
            if item is not current and not item.cut:
                item.heard_ms = 0
                cut.append(item)
        self._backlog.clear()
        self._backlog_bytes = 0
        self._room.set()
        self._idle.set()
        for item in cut:
            await self._record(item)
        await conversation.send(State(TalkState.LISTENING))
        return cut

    # -- the player -----------------------------------------------------------

    async def _play(self) -> None:
        conversation = self._conversation
        while True:
            while not self._backlog:
                if self._current is None:
                    self._idle.set()
                self._ready.clear()
                await self._ready.wait()
            item, pcm = self._backlog.popleft()
            self._backlog_bytes -= len(pcm)
            self._room.set()
            if item is not self._current:
                if conversation.is_playing():
                    await conversation.drain()
                conversation.mark_item()
                item.start_ms, self._current = conversation.now_ms(), item
                await conversation.send(State(TalkState.SPEAKING))
            if pcm:
                await conversation.play(pcm)
                continue
            await conversation.drain()
            item.end_ms, self._current = conversation.now_ms(), None
            await self._record(item)
            if not self._backlog:
                await conversation.send(State(TalkState.LISTENING))

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

"""The S2S events in Redis: one stream, one consumer group shared by every replica.

Keys (the ``{s2s}`` hash tag keeps them in one cluster slot, as the scripts need):

    zenhire:outbox:{s2s}:events          the stream of undelivered events (XADD)
    zenhire:outbox:{s2s}:live            event_id -> its retry state (JSON), while undelivered
    zenhire:outbox:{s2s}:dead            event_id -> its dead letter (JSON)
    zenhire:outbox:{s2s}:delivered:<id>  set once the control plane accepted it, kept a day

Each replica is a consumer of the group ``gateways`` named by its replica id.
An event read by a replica sits in that replica's pending list until it is
settled; settling (accepted, or a dead letter) acknowledges and deletes the
entry in one script, so the stream holds exactly the events not settled yet
and its order is the order of XADD. A replica resets the idle time of its
own pending entries (`EventStream.touch`) far more often than the claim
bound, so `EventStream.take` claims only the entries of a replica that
stopped: dead, or stalled past the bound.

`EventStream` holds the commands of a running gateway (async);
`DeadLetterStream` those of ``zenhire gateway outbox`` (a short-lived
process, so a synchronous client). Both share the scripts below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from gateway.state.redis_errors import unreachable_as

PREFIX = "zenhire:outbox:{s2s}:"
STREAM_KEY = PREFIX + "events"
LIVE_KEY = PREFIX + "live"
DEAD_KEY = PREFIX + "dead"
DELIVERED_PREFIX = PREFIX + "delivered:"
GROUP = "gateways"
# Long enough for the replica that enqueued an event to see it was delivered
# (`gateway.s2s.journal`); past it, a copy sent again is a duplicate the control
# plane ignores.
DELIVERED_TTL_SEC = 86_400
MS_PER_SEC = 1000
# Events read, claimed or looked at in one pass. The stream holds only what is not
# settled yet: a handful, or during a long control plane outage, many (the rest wait).
WINDOW = 1000

# KEYS: stream, live. ARGV: event_id, session_id, type, body, created_at, state json.
ADD = """
local id = redis.call('XADD', KEYS[1], '*', 'event_id', ARGV[1], 'session_id', ARGV[2],
  'type', ARGV[3], 'body', ARGV[4], 'created_at', ARGV[5])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[6])
return id
"""
# KEYS: stream, live, delivered marker. ARGV: group, entry id, event_id, ttl (s).
ACCEPTED = """
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[3])
redis.call('SET', KEYS[3], '1', 'EX', tonumber(ARGV[4]))
return 1
"""
# KEYS: stream, live, dead. ARGV: group, entry id, event_id, letter json.
DEAD = """
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
return 1
"""
# KEYS: stream, live, dead. ARGV: event_id, now, state json. A dead letter back
# in the stream with a fresh age bound; 0 if there is no such dead letter.
REDRIVE = """
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return 0 end
local letter = cjson.decode(raw)
redis.call('XADD', KEYS[1], '*', 'event_id', ARGV[1], 'session_id', letter['session_id'],
  'type', letter['type'], 'body', letter['body'], 'created_at', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""
# KEYS: stream. ARGV: group, consumer. Resets the idle time of this consumer's own
# pending entries (JUSTID: without counting a delivery); how many it holds.
TOUCH = """
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1000, ARGV[2])
if #pending == 0 then return 0 end
local claim = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0}
for _, entry in ipairs(pending) do claim[#claim + 1] = entry[1] end
claim[#claim + 1] = 'JUSTID'
redis.call(unpack(claim))
return #pending
"""


@dataclass(frozen=True)
class Retry:
    """An undelivered event's retry state, shared by whichever replica delivers it."""

    attempts: int
    next_attempt_at: float
    last_error: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "attempts": self.attempts,
                "next_attempt_at": self.next_attempt_at,
                "last_error": self.last_error,
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> Retry:
        held = json.loads(raw)
        error = held.get("last_error")
        return cls(
            int(held["attempts"]),
            float(held["next_attempt_at"]),
            None if error is None else str(error),
        )


@dataclass(frozen=True)
class Entry:
    """One undelivered event in the stream, whose consumer holds it (None: unread)."""

    entry_id: str
    event_id: str
    session_id: str
    type: str
    body: bytes
    created_at: float
    consumer: str | None
    retry: Retry


@dataclass(frozen=True)
class Letter:
    """A dead letter as the dead-letter hash holds it."""

    event_id: str
    session_id: str
    type: str
    body: str
    created_at: float
    attempts: int
    state: str
    last_error: str | None

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, raw: str) -> Letter:
        held: dict[str, Any] = json.loads(raw)
        return cls(**held)


def delivered_key(event_id: str) -> str:
    return DELIVERED_PREFIX + event_id


class EventStream:
    """The stream commands of one replica (consumer ``consumer``) over a
    ``decode_responses=True`` client. Every Redis error is `StateStoreUnavailable`."""

    def __init__(self, redis: Redis, consumer: str) -> None:
        self._redis = redis
        self.consumer = consumer
        self._add = redis.register_script(ADD)
        self._accepted = redis.register_script(ACCEPTED)
        self._dead = redis.register_script(DEAD)
        self._touch = redis.register_script(TOUCH)

    async def add(
        self, event_id: str, session_id: str, type_: str, body: bytes, created_at: float
    ) -> str:
        """XADD the event (and its retry state); its entry id."""
        with unreachable_as("outbox stream"):
            entry_id = await self._add(
                keys=[STREAM_KEY, LIVE_KEY],
                args=[
                    event_id,
                    session_id,
                    type_,
                    body.decode(),
                    repr(created_at),
                    Retry(0, created_at).to_json(),
                ],
            )
        return str(entry_id)

    async def take(self, claim_idle_sec: float) -> None:
        """Read the new entries, and claim those idle past ``claim_idle_sec`` (another
        replica's that stopped), into this consumer's pending list."""
        with unreachable_as("outbox stream"):
            await self._ensure_group()
            await self._redis.xautoclaim(
                STREAM_KEY,
                GROUP,
                self.consumer,
                round(claim_idle_sec * MS_PER_SEC),
                count=WINDOW,
                justid=True,
            )
            await self._redis.xreadgroup(GROUP, self.consumer, {STREAM_KEY: ">"}, count=WINDOW)

    async def touch(self) -> int:
        """Reset the idle time of this consumer's pending entries; how many it holds."""
        with unreachable_as("outbox stream"):
            return int(await self._touch(keys=[STREAM_KEY], args=[GROUP, self.consumer]))

    async def entries(self) -> list[Entry]:
        """The first `WINDOW` undelivered events, in stream order, with their holders."""
        with unreachable_as("outbox stream"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xrange(STREAM_KEY, count=WINDOW)
                pipe.xpending_range(STREAM_KEY, GROUP, "-", "+", WINDOW)
                rows, pending = await pipe.execute()
            if not rows:
                return []
            event_ids = [fields["event_id"] for _, fields in rows]
            states = await self._redis.hmget(LIVE_KEY, event_ids)
        holders = {str(p["message_id"]): str(p["consumer"]) for p in pending}
        found = []
        for (entry_id, fields), state in zip(rows, states, strict=True):
            created_at = float(fields["created_at"])
            found.append(
                Entry(
                    str(entry_id),
                    str(fields["event_id"]),
                    str(fields["session_id"]),
                    str(fields["type"]),
                    str(fields["body"]).encode(),
                    created_at,
                    holders.get(str(entry_id)),
                    Retry(0, created_at) if state is None else Retry.from_json(str(state)),
                )
            )
        return found

    async def accepted(self, entry: Entry) -> None:
        with unreachable_as("outbox stream"):
            await self._accepted(
                keys=[STREAM_KEY, LIVE_KEY, delivered_key(entry.event_id)],
                args=[GROUP, entry.entry_id, entry.event_id, DELIVERED_TTL_SEC],
            )

    async def retry(self, entry: Entry, retry: Retry) -> None:
        with unreachable_as("outbox stream"):
            await self._redis.hset(LIVE_KEY, entry.event_id, retry.to_json())

    async def dead(self, entry: Entry, state: str, retry: Retry) -> None:
        letter = Letter(
            entry.event_id,
            entry.session_id,
            entry.type,
            entry.body.decode(),
            entry.created_at,
            retry.attempts,
            state,
            retry.last_error,
        )
        with unreachable_as("outbox stream"):
            await self._dead(
                keys=[STREAM_KEY, LIVE_KEY, DEAD_KEY],
                args=[GROUP, entry.entry_id, entry.event_id, letter.to_json()],
            )

    async def known(self, event_ids: list[str]) -> dict[str, str | None]:
        """Where Redis has each event: ``delivered``, ``pending``, its dead letter's
        state, or None (Redis lost it: restarted without its data, or flushed)."""
        with unreachable_as("outbox stream"):
            async with self._redis.pipeline(transaction=True) as pipe:
                for event_id in event_ids:
                    pipe.exists(delivered_key(event_id))
                    pipe.hexists(LIVE_KEY, event_id)
                    pipe.hget(DEAD_KEY, event_id)
                answers = await pipe.execute()
        found: dict[str, str | None] = {}
        for at, event_id in enumerate(event_ids):
            delivered, live, letter = answers[3 * at : 3 * at + 3]
            if delivered:
                found[event_id] = "delivered"
            elif live:
                found[event_id] = "pending"
            elif letter is not None:
                found[event_id] = Letter.from_json(letter).state
            else:
                found[event_id] = None
        return found

    async def held(self) -> tuple[int, float | None]:
        """How many events this consumer holds, and when the oldest was created."""
        with unreachable_as("outbox stream"):
            mine = await self._redis.xpending_range(
                STREAM_KEY, GROUP, "-", "+", WINDOW, consumername=self.consumer
            )
            if not mine:
                return 0, None
            oldest = await self._redis.xrange(
                STREAM_KEY, mine[0]["message_id"], mine[0]["message_id"]
            )
        created = float(oldest[0][1]["created_at"]) if oldest and oldest[0][1] else None
        return len(mine), created

    async def dead_count(self) -> int:
        with unreachable_as("outbox stream"):
            return int(await self._redis.hlen(DEAD_KEY))

    async def _ensure_group(self) -> None:
        # Every pass: a Redis restarted without its data has lost the group too.
        try:
            await self._redis.xgroup_create(STREAM_KEY, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


class DeadLetterStream:
    """The dead letters in Redis, for ``zenhire gateway outbox`` (`gateway.s2s.dead_letters`)."""

    def __init__(self, redis: SyncRedis) -> None:
        self._redis = redis
        self._redrive = redis.register_script(REDRIVE)

    def letters(self) -> list[Letter]:
        with unreachable_as("outbox stream"):
            raw = self._redis.hgetall(DEAD_KEY)
        letters = [Letter.from_json(str(value)) for value in raw.values()]
        return sorted(letters, key=lambda letter: letter.created_at)

    def redrive(self, event_ids: list[str], now: float) -> int:
        """Put these dead letters back in the stream with a fresh age bound; how many."""
        count = 0
        with unreachable_as("outbox stream"):
            for event_id in event_ids:
                count += int(
                    self._redrive(
                        keys=[STREAM_KEY, LIVE_KEY, DEAD_KEY],
                        args=[event_id, repr(now), Retry(0, now).to_json()],
                    )
                )
        return count

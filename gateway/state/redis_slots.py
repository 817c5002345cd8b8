"""Live-interview slots in Redis, shared by every gateway replica.

Per client, three sorted sets (the ``{client}`` hash tag keeps them together):

    zenhire:slots:{client}:holders   session -> lease expiry (ms, Redis clock)
    zenhire:slots:{client}:waiters   session -> when it joined the waiting room (FIFO order)
    zenhire:slots:{client}:seen      waiter  -> when it last asked for a slot

plus ``zenhire:slots:{client}:cap`` (the last cap asked for, for operators)
and the set ``zenhire:slot-clients``. Every decision runs as one Lua script,
so two replicas admitting candidates of the same client at the same moment
still respect the cap. Time comes from the Redis server (``TIME``), so
replicas' clocks need not agree. A holder's lease lasts ``lease_sec`` and is
renewed by its replica while the interview is live; a replica that dies
stops renewing, and its slots free themselves when the leases run out.
"""

from __future__ import annotations

from redis.asyncio import Redis

from gateway.state.redis_errors import unreachable_as
from gateway.state.slots import Admission, ClientSlots, Usage, Waiter

PREFIX = "zenhire:slots:"
CLIENTS_KEY = "zenhire:slot-clients"
MS_PER_SEC = 1000

# KEYS: holders, waiters, seen. ARGV: waiter ttl (ms). Drops expired leases and
# stale waiters; the script it starts goes on with ``now`` (ms) as a local.
_EXPIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[1]))
for _, s in ipairs(stale) do
  redis.call('ZREM', KEYS[2], s)
  redis.call('ZREM', KEYS[3], s)
end
"""
# KEYS: holders, waiters, seen, cap, clients.
# ARGV: waiter ttl (ms), session, cap, lease (ms), client. Returns {admitted, position}.
ACQUIRE = (
    _EXPIRE
    + """
local sid, cap, lease = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('SET', KEYS[4], cap)
redis.call('SADD', KEYS[5], ARGV[5])
if redis.call('ZSCORE', KEYS[1], sid) then
  redis.call('ZADD', KEYS[1], now + lease, sid)
  return {1, 0}
end
redis.call('ZADD', KEYS[2], 'NX', now, sid)
redis.call('ZADD', KEYS[3], now, sid)
local position = redis.call('ZRANK', KEYS[2], sid) + 1
if redis.call('ZCARD', KEYS[1]) + position <= cap then
  redis.call('ZREM', KEYS[2], sid)
  redis.call('ZREM', KEYS[3], sid)
  redis.call('ZADD', KEYS[1], now + lease, sid)
  return {1, 0}
end
return {0, position}
"""
)
# KEYS: holders, waiters, seen, cap. ARGV: waiter ttl (ms).
# Returns {now, used, cap, waiter1, joined1, waiter2, joined2, ...}.
SNAPSHOT = (
    _EXPIRE
    + """
local found = {now, redis.call('ZCARD', KEYS[1]), tonumber(redis.call('GET', KEYS[4]) or '0')}
for _, v in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')) do
  table.insert(found, v)
end
return found
"""
)
# KEYS: holders, clients. ARGV: lease (ms), session, client. Extends the lease,
# or puts it back if Redis lost it (a restart without persistence, FLUSHALL, a
# lease that ran out while Redis was unreachable): a live interview keeps its
# slot, so the cap still counts it. Returns 1 when it had to be put back.
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lost = redis.call('ZSCORE', KEYS[1], ARGV[2]) == false
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
if lost then
  redis.call('SADD', KEYS[2], ARGV[3])
  return 1
end
return 0
"""

# KEYS: holders, waiters, clients. ARGV: client. Forgets a client with nobody
# holding or waiting, atomically (a concurrent acquire elsewhere must not vanish).
FORGET = """
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[1])
end
return 0
"""


def _keys(client_id: str) -> list[str]:
    base = f"{PREFIX}{{{client_id}}}:"
    return [base + "holders", base + "waiters", base + "seen", base + "cap"]


class RedisSlots:
    def __init__(self, redis: Redis, waiter_ttl_sec: float, lease_sec: float) -> None:
        self._redis = redis
        self._waiter_ttl_ms = round(waiter_ttl_sec * MS_PER_SEC)
        self._lease_ms = round(lease_sec * MS_PER_SEC)
        self._acquire = redis.register_script(ACQUIRE)
        self._snapshot = redis.register_script(SNAPSHOT)
        self._renew = redis.register_script(RENEW)
        self._forget = redis.register_script(FORGET)

    async def acquire(self, client_id: str, session_id: str, cap: int) -> Admission:
        with unreachable_as("slot store"):
            admitted, position = await self._acquire(
                keys=[*_keys(client_id), CLIENTS_KEY],
                args=[self._waiter_ttl_ms, session_id, cap, self._lease_ms, client_id],
            )
        return Admission(bool(admitted), int(position))

    async def release(self, client_id: str, session_id: str) -> None:
        await self._remove(client_id, session_id, holding=True)

    async def leave_queue(self, client_id: str, session_id: str) -> None:
        await self._remove(client_id, session_id, holding=False)

    async def _remove(self, client_id: str, session_id: str, *, holding: bool) -> None:
        holders, waiters, seen, _ = _keys(client_id)
        with unreachable_as("slot store"):
            async with self._redis.pipeline(transaction=True) as pipe:
                if holding:
                    pipe.zrem(holders, session_id)
                pipe.zrem(waiters, session_id)
                pipe.zrem(seen, session_id)
                await pipe.execute()

    async def usage(self, client_id: str) -> Usage:
        found = await self._client(client_id)
        return Usage(found.used, len(found.waiting))

    async def renew(self, holders: list[tuple[str, str]]) -> list[tuple[str, str]]:
        lost = []
        with unreachable_as("slot store"):
            for client_id, session_id in holders:
                put_back = await self._renew(
                    keys=[_keys(client_id)[0], CLIENTS_KEY],
                    args=[self._lease_ms, session_id, client_id],
                )
                if put_back:
                    lost.append((client_id, session_id))
        return lost

    async def clients(self) -> list[ClientSlots]:
        with unreachable_as("slot store"):
            members = await self._redis.smembers(CLIENTS_KEY)
        found = []
        for raw in sorted(members):
            client_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            client = await self._client(client_id)
            if client.used or client.waiting:
                found.append(client)
            else:
                await self._forget_if_idle(client_id)
        return found

    async def _client(self, client_id: str) -> ClientSlots:
        with unreachable_as("slot store"):
            raw = await self._snapshot(keys=_keys(client_id), args=[self._waiter_ttl_ms])
        now, used, cap, rest = int(raw[0]), int(raw[1]), int(raw[2]), raw[3:]
        waiting = tuple(
            Waiter(
                rest[i].decode() if isinstance(rest[i], bytes) else str(rest[i]),
                i // 2 + 1,
                round((now - float(rest[i + 1])) / MS_PER_SEC, 1),
            )
            for i in range(0, len(rest), 2)
        )
        return ClientSlots(client_id, used, cap, waiting)

    async def _forget_if_idle(self, client_id: str) -> None:
        with unreachable_as("slot store"):
            await self._forget(keys=[*_keys(client_id)[:2], CLIENTS_KEY], args=[client_id])

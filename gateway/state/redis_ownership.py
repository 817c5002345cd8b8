"""Interview ownership in Redis: leases with fencing tokens, and checkpoints.

Per session (the ``{session}`` hash tag keeps its keys together):

    zenhire:own:{sid}:lease        JSON {token, replica_id, internal_url}, expiring (PX)
    zenhire:own:{sid}:epoch        the newest fencing token issued (INCR)
    zenhire:own:{sid}:checkpoint   the latest `Checkpoint` (JSON), expiring after a day
    zenhire:own:{sid}:finished     set once the interview ended (its last owner), kept 8 days
    zenhire:own:{sid}:joining      hash of what the page told a replica before the start
                                   (verification, consent, readiness), as long as a ticket

A lease is taken with SET NX semantics inside one script that also INCRs
the epoch, so two replicas claiming at the same moment get one lease and
distinct tokens. Renewal, checkpoint and finish are compare-and-set
scripts on the epoch: a token below the newest is fenced. A Redis that
restarted without its data lost the epoch too; the owner's next renewal
puts its own token back (no one else can have claimed meanwhile without
the owner finding out: a claim issues a token the owner's renewal then
sees as newer).
"""

from __future__ import annotations

import json
import time

from redis.asyncio import Redis

from gateway.state.ownership import Checkpoint, Fenced, Lease, Owner
from gateway.state.redis_errors import unreachable_as

PREFIX = "zenhire:own:"
MS_PER_SEC = 1000
CHECKPOINT_TTL_SEC = 86_400
# Keys asked for per SCAN step while looking for orphans.
SCAN_COUNT = 500
# Candidate links live seven days at the control plane; a day's margin for clocks.
FINISHED_TTL_SEC = 8 * 86_400

# KEYS: lease, epoch, finished. ARGV: replica id, internal url, lease (ms).
# Returns {token} for a new lease, {0, lease json} for a live owner, {-1} if finished.
# A lease still held under this replica's own id is a previous life of this
# replica (restarted with the same id): taken over like an expired one.
CLAIM = """
if redis.call('EXISTS', KEYS[3]) == 1 then return {-1} end
local current = redis.call('GET', KEYS[1])
if current then
  local held = cjson.decode(current)
  if held['replica_id'] ~= ARGV[1] then return {0, current} end
end
local token = redis.call('INCR', KEYS[2])
local lease = cjson.encode({token = token, replica_id = ARGV[1], internal_url = ARGV[2]})
redis.call('SET', KEYS[1], lease, 'PX', tonumber(ARGV[3]))
return {token}
"""
# KEYS: epoch. ARGV: token. The shared fence of the scripts below: fails
# (returns 0) when a newer token was issued; puts the token back after a restart.
_FENCE = """
local epoch = tonumber(redis.call('GET', KEYS[1]) or '0')
local token = tonumber(ARGV[1])
if epoch > token then return 0 end
if epoch < token then redis.call('SET', KEYS[1], token) end
"""
# KEYS: epoch, lease. ARGV: token, lease json, lease (ms).
RENEW = (
    _FENCE
    + """
redis.call('SET', KEYS[2], ARGV[2], 'PX', tonumber(ARGV[3]))
return 1
"""
)
# KEYS: epoch, checkpoint. ARGV: token, checkpoint json, ttl (s).
SAVE = (
    _FENCE
    + """
redis.call('SET', KEYS[2], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""
)
# KEYS: epoch, finished, lease, checkpoint. ARGV: token, ttl (s). Once per owner:
# the same token again is its owner finishing what a crash interrupted (the spool
# recovered on restart, reported then), any other is refused.
FINISH = (
    _FENCE
    + """
local done = redis.call('GET', KEYS[2])
if done then
  if tonumber(done) == token then return 1 end
  return 0
end
redis.call('SET', KEYS[2], token, 'EX', tonumber(ARGV[2]))
redis.call('DEL', KEYS[3], KEYS[4])
return 1
"""
)
# KEYS: lease. ARGV: token. Deletes the lease only if it is still this one.
RELEASE = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(cjson.decode(current)['token']) == tonumber(ARGV[1]) then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _key(session_id: str, part: str) -> str:
    return f"{PREFIX}{{{session_id}}}:{part}"


def _lease_json(owner: Owner) -> str:
    return json.dumps(
        {"token": owner.token, "replica_id": owner.replica_id, "internal_url": owner.internal_url},
        separators=(",", ":"),
    )


def _owner(raw: str) -> Owner:
    held = json.loads(raw)
    return Owner(str(held["replica_id"]), str(held["internal_url"]), int(held["token"]))


class RedisOwnership:
    """An `gateway.state.ownership.Ownership` over a ``decode_responses=True`` client."""

    kind = "redis"

    def __init__(self, redis: Redis, replica_id: str, internal_url: str, lease_sec: float) -> None:
        self._redis = redis
        self._replica_id = replica_id
        self._internal_url = internal_url
        self._lease_ms = round(lease_sec * MS_PER_SEC)
        self._claim = redis.register_script(CLAIM)
        self._renew = redis.register_script(RENEW)
        self._save = redis.register_script(SAVE)
        self._finish = redis.register_script(FINISH)
        self._release = redis.register_script(RELEASE)

    async def claim(self, session_id: str) -> Lease | Owner:
        with unreachable_as("ownership"):
            found = await self._claim(
                keys=[_key(session_id, p) for p in ("lease", "epoch", "finished")],
                args=[self._replica_id, self._internal_url, self._lease_ms],
            )
        token = int(found[0])
        if token == -1:
            raise Fenced(f"session {session_id} has finished")
        if token == 0:
            return _owner(str(found[1]))
        return Lease(session_id, Owner(self._replica_id, self._internal_url, token))

    async def owner(self, session_id: str) -> Owner | None:
        with unreachable_as("ownership"):
            raw = await self._redis.get(_key(session_id, "lease"))
        return None if raw is None else _owner(str(raw))

    async def renew(self, lease: Lease) -> None:
        with unreachable_as("ownership"):
            kept = await self._renew(
                keys=[_key(lease.session_id, "epoch"), _key(lease.session_id, "lease")],
                args=[lease.token, _lease_json(lease.owner), self._lease_ms],
            )
        if not kept:
            raise Fenced(f"session {lease.session_id} has a newer owner")

    async def save(self, lease: Lease, checkpoint: Checkpoint) -> None:
        with unreachable_as("ownership"):
            kept = await self._save(
                keys=[_key(lease.session_id, "epoch"), _key(lease.session_id, "checkpoint")],
                args=[lease.token, checkpoint.to_json(), CHECKPOINT_TTL_SEC],
            )
        if not kept:
            raise Fenced(f"session {lease.session_id} has a newer owner")

    async def checkpoint(self, session_id: str) -> Checkpoint | None:
        with unreachable_as("ownership"):
            raw = await self._redis.get(_key(session_id, "checkpoint"))
        return None if raw is None else Checkpoint.from_json(str(raw))

    async def finish(self, session_id: str, token: int) -> bool:
        with unreachable_as("ownership"):
            done = await self._finish(
                keys=[_key(session_id, p) for p in ("epoch", "finished", "lease", "checkpoint")],
                args=[token, FINISHED_TTL_SEC],
            )
        return bool(done)

    async def is_finished(self, session_id: str) -> bool:
        with unreachable_as("ownership"):
            return bool(await self._redis.exists(_key(session_id, "finished")))

    async def release(self, lease: Lease) -> None:
        with unreachable_as("ownership"):
            await self._release(keys=[_key(lease.session_id, "lease")], args=[lease.token])

    async def share(
        self, session_id: str, part: str, value: str, ttl_sec: int, *, first: bool = False
    ) -> None:
        key = _key(session_id, "joining")
        with unreachable_as("ownership"):
            async with self._redis.pipeline(transaction=True) as pipe:
                (pipe.hsetnx if first else pipe.hset)(key, part, value)
                pipe.expire(key, ttl_sec)
                await pipe.execute()

    async def shared(self, session_id: str) -> dict[str, str]:
        with unreachable_as("ownership"):
            found = await self._redis.hgetall(_key(session_id, "joining"))
        return {str(part): str(value) for part, value in found.items()}

    async def orphans(self, idle_sec: float, limit: int) -> list[str]:
        # Checkpoints exist only for interviews not finished (finishing deletes it), so
        # a SCAN over them visits the live interviews of every replica and no more.
        found: list[str] = []
        oldest = time.time() - idle_sec
        with unreachable_as("ownership"):
            async for key in self._redis.scan_iter(match=_key("*", "checkpoint"), count=SCAN_COUNT):
                session_id = str(key)[len(PREFIX) + 1 :].split("}", 1)[0]
                lease, raw = await self._redis.mget(
                    _key(session_id, "lease"), _key(session_id, "checkpoint")
                )
                if lease is not None or raw is None:
                    continue
                try:
                    saved_at = Checkpoint.from_json(str(raw)).saved_at
                except ValueError:
                    continue  # a malformed checkpoint: a join reports it, nobody can adopt it
                if saved_at < oldest:
                    found.append(session_id)
                    if len(found) >= limit:
                        break
        return found

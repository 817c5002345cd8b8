"""Who owns each live interview, across every replica sharing the state store.

One replica owns a live interview at a time. Ownership is a *lease* that
the owner renews while the interview runs, with a *fencing token*: a
number that grows by one each time the interview changes hands (the
lease's epoch). Every write that matters carries the token, and the store
refuses it once a higher one was issued:

    claim          no live owner ─▶ a `Lease` (token n+1);  a live owner ─▶ that `Owner`
    renew          token still the newest ─▶ extended;      else `Fenced`
    save           the interview's `Checkpoint`, under the same rule
    finish         the terminal event may be queued (and the session is marked finished
                   for every replica), once: a fenced owner is told no
    release        a draining owner lets go after its final checkpoint
    orphans        interviews with a checkpoint, no live owner, and no news for a while
    share/shared   before the start: what the page told one replica (the verified link,
                   consent, readiness), for whichever replica its next request reaches

So an owner that stalled, lost its lease and came back finds itself fenced
and ends quietly: it neither writes a checkpoint nor reports the interview,
and the replica that took over is the one that finishes it.

`Ownership` is the seam; `MemoryOwnership` serves one replica (nobody else
can take over, so nothing is ever fenced), `gateway.state.redis_ownership`
many replicas.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from gateway.errors import GatewayError


class Fenced(GatewayError):
    """A newer owner holds the interview: this replica must stop writing for it."""

    code = "SESSION_MOVED"


@dataclass(frozen=True)
class Owner:
    """Who holds a live interview's lease: its replica and that replica's internal URL."""

    replica_id: str
    internal_url: str
    token: int


@dataclass(frozen=True)
class Lease:
    """This replica's hold on one live interview; ``token`` is its fencing token (epoch)."""

    session_id: str
    owner: Owner

    @property
    def token(self) -> int:
        return self.owner.token


@dataclass(frozen=True)
class Checkpoint:
    """Enough of a live interview for another replica to take it over.

    ``elapsed_ms`` is the interview's timeline at ``saved_at`` (unix
    seconds); ``verification`` and ``identity`` are what the control plane
    said and who the interview is (JSON, `gateway.session.checkpoint`);
    ``turns`` and ``asked`` are the transcript and question marks so far;
    ``position`` is the interviewer's (its own JSON).
    """

    session_id: str
    token: int
    elapsed_ms: int
    saved_at: float
    verification: dict[str, Any]
    identity: dict[str, Any]
    turns: list[dict[str, Any]] = field(default_factory=list)
    asked: list[dict[str, Any]] = field(default_factory=list)
    position: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Read `to_json` back; raise ValueError if malformed."""
        try:
            raw = json.loads(text)
            return cls(**raw)
        except (TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed checkpoint: {exc}") from exc


class Ownership(Protocol):
    kind: str  # "memory" | "redis"

    async def claim(self, session_id: str) -> Lease | Owner:
        """Take the interview (no live owner), or say who owns it now."""
        ...

    async def owner(self, session_id: str) -> Owner | None:
        """The live owner of the interview, if any."""
        ...

    async def renew(self, lease: Lease) -> None:
        """Extend the lease; raise `Fenced` if the interview has a newer owner."""
        ...

    async def save(self, lease: Lease, checkpoint: Checkpoint) -> None:
        """Store the checkpoint; raise `Fenced` if the interview has a newer owner."""
        ...

    async def checkpoint(self, session_id: str) -> Checkpoint | None: ...

    async def finish(self, session_id: str, token: int) -> bool:
        """Mark the interview finished for every replica, unless ``token`` is fenced.

        True: the caller reports the interview (the one terminal event).
        """
        ...

    async def is_finished(self, session_id: str) -> bool: ...

    async def release(self, lease: Lease) -> None:
        """Let go of the lease (the checkpoint stays for the next owner)."""
        ...

    async def orphans(self, idle_sec: float, limit: int) -> list[str]:
        """At most ``limit`` unfinished interviews with no live owner whose checkpoint is
        older than ``idle_sec``: their replica died and their candidate never came back."""
        ...

    async def share(
        self, session_id: str, part: str, value: str, ttl_sec: int, *, first: bool = False
    ) -> None:
        """Keep ``part`` (JSON) of a session not started yet for every replica, ``ttl_sec``
        long; with ``first``, a value already kept stays (consent is given once)."""
        ...

    async def shared(self, session_id: str) -> dict[str, str]:
        """The parts `share` kept for the session (none: nothing, or one replica)."""
        ...


class MemoryOwnership:
    """One replica: it owns everything it runs, and no one can take over."""

    kind = "memory"

    def __init__(self, replica_id: str, internal_url: str) -> None:
        self._replica_id = replica_id
        self._internal_url = internal_url
        self._epochs: dict[str, int] = {}

    async def claim(self, session_id: str) -> Lease | Owner:
        token = self._epochs.get(session_id, 0) + 1
        self._epochs[session_id] = token
        return Lease(session_id, Owner(self._replica_id, self._internal_url, token))

    async def owner(self, session_id: str) -> Owner | None:
        return None

    async def renew(self, lease: Lease) -> None:
        pass

    async def save(self, lease: Lease, checkpoint: Checkpoint) -> None:
        pass

    async def checkpoint(self, session_id: str) -> Checkpoint | None:
        return None

    async def finish(self, session_id: str, token: int) -> bool:
        self._epochs.pop(session_id, None)
        return True

    async def is_finished(self, session_id: str) -> bool:
        # Nobody else to tell: the replica's `FinishedSessions` remembers its own.
        return False

    async def release(self, lease: Lease) -> None:
        pass

    async def orphans(self, idle_sec: float, limit: int) -> list[str]:
        return []

    async def share(
        self, session_id: str, part: str, value: str, ttl_sec: int, *, first: bool = False
    ) -> None:
        pass  # one replica: its registry holds all of it

    async def shared(self, session_id: str) -> dict[str, str]:
        return {}

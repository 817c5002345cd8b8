"""A live interview's checkpoint, and what a takeover builds from one.

The owner of a live interview keeps its `Checkpoint` in the state store
(`gateway.session.keeper`); a replica that takes the interview over reads
it back as a `ReplicaTakeover`: who the interview is, where its timeline stands,
the transcript so far and where the interviewer was.

The timeline of a taken-over interview goes on from ``offset_ms``: the
checkpoint's elapsed time plus the time since it was saved (the outage),
so the candidate's time budget counts the outage and the recording's
parts line up on one timeline with a gap for it: the new owner writes its
segments as its fencing token (the epoch) from ``offset_ms`` on
(`gateway.session.recording`, `gateway.session.segments`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from audio.frames import FRAME_MS
from gateway.interviewer import Position
from gateway.s2s.controlplane import Verification
from gateway.session.identity import SessionIdentity, persona_from_meta
from gateway.state.ownership import Checkpoint

MS_PER_SEC = 1000


@dataclass(frozen=True)
class ReplicaTakeover:
    """What a replica taking an interview over starts it from."""

    verification: Verification
    identity: SessionIdentity
    offset_ms: int
    turns: list[dict[str, Any]]
    asked: list[dict[str, Any]]
    position: Position

    @classmethod
    def of(cls, checkpoint: Checkpoint, now: float | None = None) -> ReplicaTakeover:
        """Read a checkpoint; raise ValueError if it is malformed."""
        outage_ms = max(0.0, (time.time() if now is None else now) - checkpoint.saved_at)
        offset_ms = checkpoint.elapsed_ms + int(outage_ms * MS_PER_SEC)
        return cls(
            verification=verification_from_json(checkpoint.verification),
            identity=SessionIdentity.from_meta(checkpoint.identity),
            offset_ms=offset_ms - offset_ms % FRAME_MS,
            turns=list(checkpoint.turns),
            asked=list(checkpoint.asked),
            position=Position.from_json(checkpoint.position),
        )


def verification_to_json(verification: Verification) -> dict[str, Any]:
    return asdict(verification)


def verification_from_json(raw: dict[str, Any]) -> Verification:
    """Read `verification_to_json` back; raise ValueError if malformed."""
    try:
        return Verification(
            session_id=str(raw["session_id"]),
            client_id=str(raw["client_id"]),
            status=raw["status"],
            consent_mode=raw["consent_mode"],
            candidate_ref=raw["candidate_ref"],
            persona=persona_from_meta(raw["persona"]),
            max_concurrent=int(raw["max_concurrent"]),
            max_duration_sec=int(raw["max_duration_sec"]),
            extra_time_pct=int(raw.get("extra_time_pct", 0)),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed verification in a checkpoint: {exc}") from exc

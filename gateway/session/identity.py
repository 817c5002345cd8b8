"""Who and what a live interview is, fixed when it starts.

`SessionIdentity` is built once, from the control plane's verification, the
recorded consent and the transport the candidate started on; the live
session holds it, the spool writes it as ``meta.json``, and everything that
reports on the interview (events, the console, the summary log line) reads
it from there instead of looking the session up again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from gateway.interviewer import Persona, PersonaQuestion
from gateway.s2s.controlplane import Verification
from zenhire.timestamps import now_iso


@dataclass(frozen=True)
class Consent:
    accepted_at: str
    text_version: str


@dataclass(frozen=True)
class SessionIdentity:
    session_id: str
    client_id: str
    candidate_ref: str | None
    persona: Persona
    consent_mode: str
    consent: Consent | None
    transport: str
    started_at: str
    # What the page's readiness check found (`gateway.candidate.readiness`), if it ran.
    readiness: Mapping[str, Any] | None = None

    @classmethod
    def starting(
        cls,
        verification: Verification,
        consent: Consent | None,
        transport: str,
        readiness: Mapping[str, Any] | None = None,
    ) -> SessionIdentity:
        """The identity of an interview starting now."""
        return cls(
            session_id=verification.session_id,
            client_id=verification.client_id,
            candidate_ref=verification.candidate_ref,
            persona=verification.persona,
            consent_mode=verification.consent_mode,
            consent=consent,
            transport=transport,
            started_at=now_iso(),
            readiness=readiness,
        )

    def as_meta(self) -> dict[str, Any]:
        """The spool's ``meta.json`` and the head of the transcript document."""
        return {
            "session_id": self.session_id,
            "client_id": self.client_id,
            "candidate_ref": self.candidate_ref,
            "persona": asdict(self.persona),
            "consent_mode": self.consent_mode,
            "consent": None if self.consent is None else asdict(self.consent),
            "started_at": self.started_at,
            "transport": self.transport,
            "readiness": None if self.readiness is None else dict(self.readiness),
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> SessionIdentity:
        """Read `as_meta` back (a spool folder left by a crash); raise ValueError if malformed."""
        try:
            consent = meta["consent"]
            return cls(
                session_id=str(meta["session_id"]),
                client_id=str(meta["client_id"]),
                candidate_ref=meta["candidate_ref"],
                persona=persona_from_meta(meta["persona"]),
                consent_mode=str(meta["consent_mode"]),
                consent=None if consent is None else Consent(**consent),
                transport=str(meta["transport"]),
                started_at=str(meta["started_at"]),
                readiness=_readiness(meta.get("readiness")),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed session meta: {exc}") from exc


def _readiness(value: object) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError("readiness is not an object")
    return value


def persona_from_meta(meta: dict[str, Any]) -> Persona:
    questions = tuple(PersonaQuestion(**question) for question in meta.get("questions", ()))
    return Persona(str(meta["id"]), str(meta["role_name"]), str(meta["language"]), questions)

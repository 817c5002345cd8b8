"""What a page told one replica before its interview started, for every replica.

Behind a load balancer without sticky sessions a page's requests before the
start reach any replica: it verifies its link on one, consents on another,
posts its readiness result on a third and opens its WebSocket (or sends its
offer) on a fourth. Each replica keeps what it is told in its registry and
shares it through the state store (`Ownership.share`, as long as a ticket
lives); a replica asked about a session it has not seen reads it back first
(`recall`). With one replica nothing is shared: its registry is the whole
truth. With the state store down each replica keeps what it was told, and a
join reaching another is refused as before (the page verifies its link
again, and may be asked to consent again).
"""

from __future__ import annotations

import dataclasses
import json
import logging

from gateway.candidate.readiness import Readiness
from gateway.errors import StateStoreUnavailable
from gateway.s2s.controlplane import Verification
from gateway.services import Services
from gateway.session.checkpoint import verification_from_json, verification_to_json
from gateway.session.identity import Consent

log = logging.getLogger("zenhire.joining")

VERIFICATION, CONSENT, READINESS = "verification", "consent", "readiness"


async def share_verification(found: Services, verification: Verification) -> None:
    value = json.dumps(verification_to_json(verification), separators=(",", ":"))
    await _share(found, verification.session_id, VERIFICATION, value)


async def share_consent(found: Services, session_id: str, consent: Consent) -> None:
    value = json.dumps(dataclasses.asdict(consent), separators=(",", ":"))
    await _share(found, session_id, CONSENT, value, first=True)


async def share_readiness(found: Services, session_id: str, readiness: Readiness) -> None:
    await _share(found, session_id, READINESS, readiness.model_dump_json())


async def recall(found: Services, session_id: str) -> Verification | None:
    """The session's verification, with what other replicas were told put in this
    replica's registry (consent kept if given here first; the latest readiness)."""
    registry = found.registry
    try:
        parts = await registry.ownership.shared(session_id)
    except StateStoreUnavailable:
        log.warning("could not read what other replicas know of a session; this one's only")
        return registry.verification(session_id)
    try:
        if VERIFICATION in parts and registry.verification(session_id) is None:
            registry.remember(verification_from_json(json.loads(parts[VERIFICATION])))
        if CONSENT in parts:
            registry.record_consent(session_id, Consent(**json.loads(parts[CONSENT])))
        if READINESS in parts:
            registry.record_readiness(session_id, Readiness.model_validate_json(parts[READINESS]))
    except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
        # Written by a replica of another version, or damaged: this replica's own stands.
        log.warning("skipped a malformed shared record of a session", exc_info=True)
    return registry.verification(session_id)


async def _share(
    found: Services, session_id: str, part: str, value: str, *, first: bool = False
) -> None:
    try:
        await found.registry.ownership.share(
            session_id, part, value, found.settings.ticket_ttl_sec, first=first
        )
    except StateStoreUnavailable:
        log.warning("could not share what the page told this replica", extra={"part": part})

"""The long-lived resources of one gateway process, opened in its lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from gateway.candidate.tickets import TicketBook
from gateway.limits import Limits
from gateway.ops.load import CpuLoad
from gateway.ops.loop_lag import LoopLag
from gateway.ops.metrics import Metrics
from gateway.ops.operators import OperatorKeys
from gateway.ops.replica import Replica
from gateway.s2s.artifacts import ArtifactStore
from gateway.s2s.controlplane import ControlPlane
from gateway.s2s.outbox import EventOutbox
from gateway.session.registry import SessionRegistry
from gateway.settings import Settings
from gateway.transports.ice import IceServers
from zenhire.signing import NonceCache, Signer


@dataclass(frozen=True)
class Services:
    settings: Settings
    control_plane: ControlPlane
    registry: SessionRegistry
    tickets: TicketBook
    artifacts: ArtifactStore
    outbox: EventOutbox
    signer: Signer  # verifies the control plane's S2S requests
    nonces: NonceCache  # nonces of the S2S requests it has accepted
    metrics: Metrics
    operators: OperatorKeys
    replica: Replica
    ice: IceServers  # STUN/TURN for each peer connection, TURN credentials minted per use
    load: CpuLoad  # this process's CPU, for admission and readiness
    limits: Limits
    loop_lag: LoopLag
    replicas: Signer  # signs and verifies joins forwarded between replicas


def services(connection: HTTPConnection) -> Services:
    found: Services = connection.app.state.services
    return found

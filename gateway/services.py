"""The long-lived resources of one gateway process, opened in its lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from gateway.artifacts import ArtifactStore
from gateway.controlplane import ControlPlane
from gateway.metrics import Metrics
from gateway.operators import OperatorKeys
from gateway.outbox import Outbox
from gateway.registry import SessionRegistry
from gateway.replica import Replica
from gateway.settings import Settings
from gateway.tickets import TicketBook
from zenhire.signing import Signer


@dataclass(frozen=True)
class Services:
    settings: Settings
    control_plane: ControlPlane
    registry: SessionRegistry
    tickets: TicketBook
    artifacts: ArtifactStore
    outbox: Outbox
    signer: Signer
    metrics: Metrics
    operators: OperatorKeys
    replica: Replica


def services(connection: HTTPConnection) -> Services:
    found: Services = connection.app.state.services
    return found

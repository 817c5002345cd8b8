"""Every WebRTC peer connection of this gateway, owned from offer to close.

`PeerConnections` opens in the app's lifespan with the service's task
group. `open` negotiates a `Peer` and runs it as a task of that group;
each peer closes its ``RTCPeerConnection`` when its connection ends, and
`shutdown` closes the rest (and waits for them) when the gateway stops.

UDP ports. aioice (0.13, the ICE layer under aiortc) binds every host
candidate with ``local_addr=(address, 0)`` and has no port-range option (an
upstream pull request adding one is still open), so the port comes from
the kernel's ephemeral range, ``net.ipv4.ip_local_port_range``. That sysctl
is per network namespace, so a container sets it for itself:
``docker run --sysctl net.ipv4.ip_local_port_range="40000 40199"`` (or a
Kubernetes pod ``securityContext.sysctls`` entry, a "safe" sysctl) and
publishes the same UDP range. ``ZENHIRE_WEBRTC_PORT_MIN``/``_MAX`` declare
that range; `check_port_range` refuses to start when the kernel would hand
out ports outside it, since media would silently fail to arrive.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path

from aiortc import RTCSessionDescription

from gateway.candidate.refusals import Refusal, Refused
from gateway.errors import ConfigError
from gateway.limits import Hold
from gateway.s2s.controlplane import Verification
from gateway.services import Services
from gateway.transports.transport import CloseCode
from gateway.transports.webrtc import Peer
from zenhire.tasks import TaskGroup

log = logging.getLogger("zenhire.webrtc")

KERNEL_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# On shutdown, peers get this long to send their last events and close.
SHUTDOWN_TIMEOUT_SEC = 5.0
# Connections one session may hold at once (the live one, a superseding
# one, one still connecting): every offer binds UDP sockets for up to
# `gateway.transports.webrtc.CONNECT_TIMEOUT_SEC`, so a ticket holder cannot pile them up.
MAX_PEERS_PER_SESSION = 4


def check_port_range(ports: tuple[int, int] | None, kernel: Path = KERNEL_PORT_RANGE) -> None:
    """Raise `ConfigError` unless the kernel's ephemeral UDP ports lie within ``ports``."""
    if ports is None:
        return
    try:
        low, high = (int(part) for part in kernel.read_text().split())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"ZENHIRE_WEBRTC_PORT_MIN/_MAX are set but {kernel} cannot be read"
        ) from exc
    if not ports[0] <= low <= high <= ports[1]:
        raise ConfigError(
            f"ZENHIRE_WEBRTC_PORT_MIN/_MAX is {ports[0]}..{ports[1]} but the kernel hands out "
            f"ports {low}..{high}: set net.ipv4.ip_local_port_range to "
            f'"{ports[0]} {ports[1]}" in this network namespace'
        )


class PeerConnections:
    def __init__(self, group: TaskGroup) -> None:
        self._group = group
        self._running: dict[Peer, asyncio.Task[None]] = {}
        # Connections of each session, counted from the offer's arrival, not its answer.
        self._held: Counter[str] = Counter()
        self._closing = False

    def __len__(self) -> int:
        return len(self._running)

    async def open(
        self,
        found: Services,
        verification: Verification,
        offer: RTCSessionDescription,
        pending: Hold,
    ) -> RTCSessionDescription:
        """Answer ``offer`` and start holding the connection.

        ``pending`` (the peer counted as still connecting, `gateway.limits`)
        is released once the connection is up or has ended. Raise
        `gateway.transports.webrtc.OfferRejected` for an offer aiortc cannot
        use, and `Refused` past the per-session bound
        (``TOO_MANY_CONNECTIONS``) or while the gateway stops
        (``SHUTTING_DOWN``); in each case nothing stays open.
        """
        session_id = verification.session_id
        if self._closing:
            raise Refused(Refusal.SHUTTING_DOWN)
        if self._held[session_id] >= MAX_PEERS_PER_SESSION:
            raise Refused(Refusal.TOO_MANY_CONNECTIONS)
        # Counted before the first await, so that concurrent offers cannot overrun the bound.
        self._held[session_id] += 1
        peer = Peer(
            found,
            verification,
            found.ice.for_holder(found.settings.operations.replica_id),
            on_open=pending.release,
        )
        try:
            answer = await peer.answer(offer)
            if self._closing:
                raise Refused(Refusal.SHUTTING_DOWN)
        except BaseException:
            pending.release()
            self._forget(session_id)
            await peer.shut()
            raise
        self._running[peer] = self._group.create_task(self._hold(peer, pending))
        return answer

    async def shutdown(self) -> None:
        """Close every peer and wait for each; cancel those that overrun the timeout."""
        self._closing = True
        for peer in self._running:
            peer.close(CloseCode.NORMAL, "the gateway is shutting down")
        tasks = list(self._running.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=SHUTDOWN_TIMEOUT_SEC)
        for task in late:
            task.cancel()
        if late:
            log.warning("webrtc peers cancelled at shutdown", extra={"count": len(late)})
            await asyncio.wait(late)

    async def _hold(self, peer: Peer, pending: Hold) -> None:
        try:
            await peer.run()
        finally:
            pending.release()
            self._running.pop(peer, None)
            self._forget(peer.session_id)

    def _forget(self, session_id: str) -> None:
        self._held[session_id] -= 1
        if self._held[session_id] <= 0:
            del self._held[session_id]

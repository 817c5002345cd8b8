"""Where the gateway listens: the public listener and, optionally, an internal one.

With ``ZENHIRE_S2S_PORT`` set, `zenhire gateway serve` binds a second
socket (``ZENHIRE_S2S_HOST``, loopback by default) and one uvicorn server
serves both (`sockets`). `Listeners` then splits requests by the socket they
arrived on (the ASGI scope's ``server``): the internal listener answers
only the server-to-server routes (``/s2s/...``) and the probes, the public
one everything but the server-to-server routes; anything else is ``404``.
So the artifact endpoints can sit on a private network the control plane
reaches, never on the address candidates reach. Without the setting, the
public listener serves everything.
"""

from __future__ import annotations

import socket

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from gateway.http import error_response
from gateway.settings import Settings

S2S_PREFIX = "/s2s/"
PROBES = frozenset({"/healthz", "/readyz"})
LISTEN_BACKLOG = 2048


def sockets(settings: Settings) -> list[socket.socket]:
    """The bound sockets to serve: the public listener, then the internal one if set."""
    bound = [_bind(settings.host, settings.port)]
    if settings.edge.s2s_listener is not None:
        bound.append(_bind(*settings.edge.s2s_listener))
    return bound


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    found = socket.socket(family, socket.SOCK_STREAM)
    found.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    found.bind((host, port))
    found.listen(LISTEN_BACKLOG)
    found.set_inheritable(True)
    return found


class Listeners:
    """Serve each route on its listener only (see the module docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.internal = settings.edge.s2s_listener
        self.public_port = settings.port

    def arrived_internally(self, scope: Scope) -> bool:
        """Whether the request came in on the internal listener."""
        server = scope.get("server")
        if self.internal is None or not server:
            return False
        host, port = self.internal
        if port != server[1]:
            return False
        # Same port on both listeners (different addresses): the address decides.
        return port != self.public_port or server[0] == host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.internal is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        server_to_server = path.startswith(S2S_PREFIX)
        if self.arrived_internally(scope):
            served = server_to_server or path in PROBES
        else:
            served = not server_to_server
        if served:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)
        else:
            refusal = error_response(404, "NOT_FOUND", "Not found.")
            await refusal(scope, receive, send)

"""Server to server: the control plane, the event outbox and the artifacts.

    GET /s2s/v1/sessions/{id}/recording    signed, with Range (`endpoints`)
    GET /s2s/v1/sessions/{id}/transcript   signed (`endpoints`)

`controlplane` is the seam to the control plane (verify, events),
`outbox` delivers events durably, `artifacts` stores finished recordings
and transcripts. The contract is docs/s2s.md.
"""

from __future__ import annotations

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    # Imported when called: the session registry imports the outbox of this package.
    from gateway.s2s import endpoints

    return endpoints.routes()

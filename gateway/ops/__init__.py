"""Operations: probes, metrics, the operator console and this replica.

    GET  /healthz /readyz                  `probes`
    GET  /metrics                          `console` (Prometheus, `metrics`)
    GET  /ops                              the console page
    GET  /ops/api/v1/overview | stream     `overview` of every replica
    POST /ops/api/v1/sessions/{id}/end     end an interview on any replica
    POST /ops/api/v1/drain | undrain       stop or resume admitting here

`operators` holds the operator keys; `replica` is this process among the
replicas sharing the state store.
"""

from __future__ import annotations

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    # Imported when called: the console reads the session registry, which imports
    # the metrics of this package.
    from gateway.ops import console

    return console.routes()

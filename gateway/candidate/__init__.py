"""The candidate's edge: the page, its HTTP API, tickets, consent and admission.

    GET  /                             the candidate page (reads ``#t=`` itself)
    GET  /static/...                   its assets
    POST /api/v1/candidate/session     verify a link → ticket (`api`)
    POST /api/v1/candidate/consent     record explicit consent (`api`)
    POST /api/v1/candidate/readiness   record the page's readiness check (`api`, `readiness`)

`admission` decides who may join a live interview, for every transport;
`refusals` names every way a join can be refused.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute


def routes(static_dir: Path) -> list[BaseRoute]:
    # Imported when called: the transports import `admission` from this package.
    from gateway.candidate import api

    return api.routes(static_dir)

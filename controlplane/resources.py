"""The long-lived resources one running control plane shares between requests.

`create_app`'s lifespan opens them and puts them on ``app.state.resources``;
endpoints reach them through `resources_of` and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from starlette.requests import Request

from controlplane.erasure.eraser import Eraser
from controlplane.settings import Settings
from controlplane.store import Store
from controlplane.webhooks.dispatcher import Dispatcher
from controlplane.webhooks.outbox import Outbox
from zenhire.signing import NonceCache, Signer

if TYPE_CHECKING:
    from controlplane.questions import QuestionPlans


@dataclass(frozen=True)
class Resources:
    settings: Settings
    store: Store
    http: httpx.AsyncClient  # calls to the gateway's S2S artifact endpoints
    signer: Signer  # signs requests to the gateway
    verifier: Signer  # verifies the gateway's requests
    nonces: NonceCache  # nonces of the gateway requests accepted
    outbox: Outbox  # integrator webhooks and their deliveries
    dispatcher: Dispatcher  # delivers the outbox; wake() after enqueueing
    eraser: Eraser  # carries out deletions; wake() after requesting one
    questions: QuestionPlans  # what each persona's interviewer asks


def resources_of(request: Request) -> Resources:
    resources = request.app.state.resources
    assert isinstance(resources, Resources), "the app's lifespan has not run"
    return resources

"""The long-lived resources one running control plane shares between requests.

`create_app`'s lifespan opens them and puts them on ``app.state.resources``;
endpoints reach them through `resources_of` and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from starlette.requests import Request

from controlplane.settings import Settings
from controlplane.store import Store
from zenhire.signing import Signer


@dataclass(frozen=True)
class Resources:
    settings: Settings
    store: Store
    http: httpx.AsyncClient  # calls to the gateway's S2S artifact endpoints
    signer: Signer


def resources_of(request: Request) -> Resources:
    resources = request.app.state.resources
    assert isinstance(resources, Resources), "the app's lifespan has not run"
    return resources

"""Fixtures of the control-plane tests: one server per module, one client per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from controlplane import Settings, create_app, create_client
from tests.controlplane.platform import Platform, make_settings
from zenhire.loopback.servers import serve

# One server for the module keeps the run fast; every test gets its own client
# (tenant), which isolates its personas, sessions and balance from the others.


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("controlplane"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(settings: Settings) -> AsyncIterator[str]:
    async with serve(create_app(settings)) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="module")
async def platform(settings: Settings, server: str) -> AsyncIterator[Platform]:
    client = create_client(settings, name="Acme")
    async with httpx.AsyncClient(base_url=server) as http:
        yield Platform(settings, http, str(client["api_key"]))

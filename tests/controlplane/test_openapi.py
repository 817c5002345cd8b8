"""The OpenAPI 3.1 contract: valid, served without a key, and covering every route."""

from __future__ import annotations

from pathlib import Path

from openapi_spec_validator import validate
from starlette.routing import BaseRoute, Mount, Route

from controlplane.app import API_PREFIX, create_app
from controlplane.contract.document import build
from tests.controlplane.harness import make_settings, running_platform


def test_the_document_is_valid_openapi_3_1() -> None:
    document = build()
    assert document["openapi"] == "3.1.0"
    validate(document)


def integrator_routes(routes: list[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            if prefix + route.path != f"{API_PREFIX}/s2s":
                found |= integrator_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route) and (prefix + route.path).startswith(API_PREFIX):
            # A class endpoint (HTTPEndpoint) answers the methods it defines.
            methods = route.methods or {
                verb.upper() for verb in ("get", "post", "delete") if hasattr(route.endpoint, verb)
            }
            found |= {(m, prefix + route.path) for m in methods if m != "HEAD"}
    return found


def test_the_document_describes_exactly_the_integrator_routes(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    documented = {
        (method.upper(), path) for path, item in build()["paths"].items() for method in item
    }
    assert documented == integrator_routes(app.routes)


async def test_the_document_is_served_without_a_key(tmp_path: Path) -> None:
    async with running_platform(tmp_path) as platform:
        response = await platform.http.get(f"{API_PREFIX}/openapi.json")
        assert response.status_code == 200
        assert response.json() == build()

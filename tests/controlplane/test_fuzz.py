"""Schema-driven fuzzing of a live control plane with schemathesis: no 5xx, and every
response matches the OpenAPI document.

Two phases against one real server: every operation on its own
(`EXAMPLES_PER_OPERATION` each, positive and negative inputs), then a
stateful run that follows the document's links (create a persona, start a
session on it, revoke, reinvite, erase, register a webhook, rotate it, ...).
``ZENHIRE_FUZZ_SCALE`` multiplies both counts for a longer local run:
``ZENHIRE_FUZZ_SCALE=5 .venv/bin/pytest tests/controlplane/test_fuzz.py``.
Webhook deliveries go to a local transport that answers 204, so the fuzzer's
made-up URLs are never contacted.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from controlplane import create_app, create_client
from tests.controlplane.harness import make_settings
from tests.reliability import count_example
from zenhire.loopback.servers import serve

Case = schemathesis.Case[Any]

SCALE = int(os.environ.get("ZENHIRE_FUZZ_SCALE", "1"))
EXAMPLES_PER_OPERATION = 70 * SCALE
STATEFUL_SCENARIOS = 50 * SCALE
STEPS_PER_SCENARIO = 20
MINIMUM_EXAMPLES = 2000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def accept_everything(request: httpx.Request) -> httpx.Response:
    return httpx.Response(204)


def fuzz_settings(max_examples: int, **extra: Any) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        **extra,
    )


def fuzz(base_url: str, api_key: str) -> tuple[int, int]:
    """Run both phases (blocking); the count of stateless and stateful calls."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/interview/openapi.json")
    headers = {"X-API-Key": api_key}
    stateless = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()

        @fuzz_settings(EXAMPLES_PER_OPERATION)
        @hypothesis.given(case=operation.as_strategy())
        def call(case: Case) -> None:
            nonlocal stateless
            stateless += 1
            count_example("integrator API requests (schemathesis)")
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

        call()

    stateful = 0

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"base_url": base_url, "headers": headers}

        def validate_response(self, response: Any, case: Case, **kwargs: Any) -> None:
            nonlocal stateful
            stateful += 1
            count_example("integrator API requests (schemathesis)")
            case.validate_response(response, checks=CHECKS)

    scenarios = fuzz_settings(STATEFUL_SCENARIOS, stateful_step_count=STEPS_PER_SCENARIO)
    try:
        Workflow.run(settings=scenarios)
    except hypothesis.errors.FlakyStrategyDefinition:
        # The scenarios draw from values the server made (ids in links), so a replay of
        # the same choices can draw differently and Hypothesis calls the strategy
        # itself flaky: a fault of the generation, not a finding. Once more, afresh; a
        # real finding (a 5xx, an answer outside the document) is another error.
        Workflow.run(settings=scenarios)
    return stateless, stateful


async def test_fuzzing_finds_no_5xx_and_no_response_outside_the_document(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    # A key with a project: sessions then show a project_id the stateful run can
    # follow into the list's project_id filter (a link to null would stall it).
    api_key = str(create_client(settings, name="Fuzz", credits=10**9, project="Fuzz")["api_key"])
    app = create_app(settings, webhook_transport=httpx.MockTransport(accept_everything))
    async with serve(app) as url:
        stateless, stateful = await asyncio.to_thread(fuzz, url, api_key)
    print(f"fuzzed {stateless} stateless + {stateful} stateful calls")
    assert stateless + stateful >= MINIMUM_EXAMPLES * SCALE

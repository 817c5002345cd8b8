"""The OpenAPI 3.1 document of the integrator API, built from `operations` and `models`.

Request schemas come from the same pydantic models that validate request
bodies (`controlplane.payloads`), response schemas from `models`; JSON
Schema 2020-12, which OpenAPI 3.1 uses as is. Every authenticated operation
also answers ``401`` and ``403`` (``MISSING_PERMISSION``, another client's
resource) in the error envelope. Served without a key at
``GET /api/v1/interview/openapi.json``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from controlplane.contract import models
from controlplane.contract.operations import OPAQUE_JSON, OPERATIONS, WAV, Operation

API_PREFIX = "/api/v1/interview"
VERSION = "1.1.0"
PATH_PARAMETER = re.compile(r"{(\w+)}")
# Ids the API mints are UUIDs or ``msg_<hex>``; a path segment never holds more.
ID_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
REF = "#/components/schemas/{model}"
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    206: "Partial content (a Range request)",
    400: "Malformed JSON, a validation error, or a bad query parameter",
    401: "Missing or unknown API key",
    402: "Insufficient credit balance",
    403: "Missing interview permission, or another client's resource",
    404: "Unknown id",
    409: "Not possible in the resource's current state",
    410: "Gone: the artifacts were deleted",
    413: "Request body larger than 64 KiB",
    416: "Unsatisfiable range",
    502: "The interview service is temporarily unreachable",
}


def build() -> dict[str, Any]:
    """The whole document, as a JSON-ready dict."""
    components = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(API_PREFIX + operation.path, {})[operation.method.lower()] = _operation(
            operation
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ZenHire Interview API (integrator)",
            "version": VERSION,
            "description": "Personas, sessions, results, webhooks and erasure. "
            "Authenticate with `X-API-Key`; errors use the envelope "
            '`{"error": {"code", "message", "timestamp", "details"}}`. '
            "Webhook payloads are the `WebhookPayload` schema, signed per Standard Webhooks.",
        },
        "servers": [{"url": "/"}],
        "security": [{"ApiKey": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
    }


def _schemas() -> dict[str, Any]:
    requests = {op.request for op in OPERATIONS if op.request is not None}
    responses = {
        body
        for op in OPERATIONS
        for body in op.responses.values()
        if isinstance(body, type) and issubclass(body, BaseModel)
    }
    responses |= {models.ErrorEnvelope, models.WebhookPayload}
    mode: dict[type[BaseModel], Literal["validation", "serialization"]] = {}
    mode.update(dict.fromkeys(responses, "serialization"))
    mode.update(dict.fromkeys(requests, "validation"))
    _, schema = models_json_schema(
        [(model, mode[model]) for model in sorted(mode, key=lambda m: m.__name__)],
        ref_template=REF,
    )
    defs: dict[str, Any] = schema["$defs"]
    return defs


def _operation(operation: Operation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": ID_SCHEMA}
        for name in PATH_PARAMETER.findall(operation.path)
    ]
    parameters += [
        {
            "name": q.name,
            "in": "query",
            "required": False,
            "description": q.description,
            "schema": q.schema,
        }
        for q in operation.query
    ]
    if operation.operation_id == "getRecording":
        parameters.append(
            {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"}}
        )
    statuses = dict(operation.responses)
    if operation.authenticated:
        statuses.setdefault(401, None)
        statuses.setdefault(403, None)
    spec: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": parameters,
        "responses": {
            str(status): _response(status, body, operation)
            for status, body in sorted(statuses.items())
        },
    }
    if not operation.authenticated:
        spec["security"] = []
    if operation.request is not None:
        spec["requestBody"] = {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {"$ref": REF.format(model=operation.request.__name__)}
                }
            },
        }
    return spec


def _response(status: int, body: object, operation: Operation) -> dict[str, Any]:
    response: dict[str, Any] = {"description": STATUS_TEXT.get(status, "Response")}
    if status >= 400:
        response["content"] = {
            "application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}
        }
    elif body == WAV:
        response["content"] = {WAV: {"schema": {"type": "string", "contentMediaType": WAV}}}
    elif body == OPAQUE_JSON:
        response["content"] = {"application/json": {"schema": {"type": "object"}}}
    elif isinstance(body, type):
        response["content"] = {
            "application/json": {"schema": {"$ref": REF.format(model=body.__name__)}}
        }
    if 200 <= status < 300 and operation.links:
        response["links"] = {
            name: {"operationId": target, "parameters": parameters}
            for name, (target, parameters) in operation.links.items()
        }
    return response


def routes() -> list[BaseRoute]:
    """``GET /openapi.json``, relative to ``/api/v1/interview``; built once, here."""
    document = build()

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(document)

    return [Route("/openapi.json", openapi_json, methods=["GET"])]

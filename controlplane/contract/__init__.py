"""The integrator API's machine-readable contract: an OpenAPI 3.1 document.

- `models`: pydantic models of every response body (requests reuse
  `controlplane.payloads`).
- `operations`: the table of integrator operations — path, method, bodies,
  parameters, statuses and links.
- `document`: builds the document from those two and serves it at
  ``GET /api/v1/interview/openapi.json``.
"""

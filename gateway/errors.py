"""The gateway's exceptions, one hierarchy.

    GatewayError
    ├── ConfigError              a setting is missing or invalid (start-up)
    ├── ControlPlaneError        the control plane answered, but not with success
    │   ├── TokenInvalid         404 TOKEN_INVALID
    │   └── TokenExpired         410 TOKEN_EXPIRED
    ├── ControlPlaneUnavailable  the control plane could not be reached, or 5xx
    ├── TicketError              a candidate ticket is missing, forged or expired
    ├── StateStoreUnavailable    the shared state store (Redis) could not be reached
    ├── ArtifactNotFound         no such recording or transcript in the store
    ├── OutboxFull               the outbox's disk takes no writes and its memory is full
    ├── ArtifactStoreUnavailable the artifact store (S3) could not be reached or failed
    │   (defined beside the interviewers that raise them:)
    ├── SynthesisError           eSpeak NG could not speak    (interviewer.voice)
    ├── TranscriptionError       PocketSphinx could not run   (interviewer.transcriber)
    └── UpstreamError            the realtime upstream failed (interviewer.realtime_upstream)
        ├── UpstreamLost         connection refused, dropped or closed: reconnect
        ├── UpstreamFault        an error event, rate limit or silence: reconnect
        └── UpstreamUnavailable  gone for good (key refused, retries spent)

Foreign errors (httpx, sqlite3, OS) are translated once, at the seam that
meets them, with ``raise ... from exc``. Each error knows the code and HTTP
status the candidate API answers with.
"""

from __future__ import annotations


class GatewayError(Exception):
    code = "INTERNAL"
    http_status = 500


class ConfigError(GatewayError):
    code = "CONFIG_INVALID"


class ControlPlaneError(GatewayError):
    code = "CONTROL_PLANE_ERROR"
    http_status = 502


class TokenInvalid(ControlPlaneError):
    code = "TOKEN_INVALID"
    http_status = 404


class TokenExpired(ControlPlaneError):
    code = "TOKEN_EXPIRED"
    http_status = 410


class ControlPlaneUnavailable(GatewayError):
    code = "CONTROL_PLANE_UNAVAILABLE"
    http_status = 503


class TicketError(GatewayError):
    code = "TICKET_INVALID"
    http_status = 401


class StateStoreUnavailable(GatewayError):
    code = "STATE_STORE_UNAVAILABLE"
    http_status = 503


class ArtifactNotFound(GatewayError):
    code = "ARTIFACT_NOT_FOUND"
    http_status = 404


class OutboxFull(GatewayError):
    code = "OUTBOX_FULL"
    http_status = 503


class ArtifactStoreUnavailable(GatewayError):
    code = "ARTIFACT_STORE_UNAVAILABLE"
    http_status = 503

"""What the page's readiness check found before the interview, and what it changes.

The page checks the browser (AudioWorklet, getUserMedia, RTCPeerConnection),
the network path (ICE gathering, TURN, a round trip to the gateway) and how
much of a test sound through the speakers the microphone hears with echo
cancellation on. It posts the results (never audio) with
``POST /api/v1/candidate/readiness``; `parse_readiness` checks them strictly
(an unknown field or an impossible value is a clear error, nothing is kept
of a refused body). The result is recorded in the transcript document's
``readiness`` and sets the interview's `Echo`: strong echo means the
candidate hears the interviewer through speakers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.interviewer import Echo

READINESS_VERSION = 1
# Strong echo: the test sound rose this many dB above the room in the microphone.
STRONG_ECHO_DB = 10.0

Count = Annotated[int, Field(ge=0, le=100)]
Decibels = Annotated[float, Field(ge=-120.0, le=120.0, allow_inf_nan=False)]
Milliseconds = Annotated[float, Field(ge=0.0, le=60_000.0, allow_inf_nan=False)]
Status = Literal["passed", "failed", "skipped"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class BrowserCheck(_Strict):
    audio_worklet: bool
    get_user_media: bool
    webrtc: bool


class EchoCheck(_Strict):
    """``status``: ``passed`` (measured), ``failed`` (no measurement possible), ``skipped``.
    ``level_db``: how far the test sound rose above the room in the microphone."""

    status: Status
    level_db: Decibels | None = None


class IceCandidates(_Strict):
    host: Count = 0
    srflx: Count = 0
    relay: Count = 0


class NetworkCheck(_Strict):
    """``transport``: the path the page chose (``none`` when neither works)."""

    status: Status
    transport: Literal["webrtc", "websocket", "none"] | None = None
    candidates: IceCandidates | None = None
    turn_configured: bool | None = None
    rtt_ms: Milliseconds | None = None


class Readiness(_Strict):
    version: Literal[1]
    skipped: bool = False
    browser: BrowserCheck
    echo: EchoCheck
    network: NetworkCheck

    @property
    def echo_path(self) -> Echo:
        """How the interviewer should treat echo: measured strong or low, else unknown."""
        if self.echo.status != "passed" or self.echo.level_db is None:
            return "unknown"
        return "strong" if self.echo.level_db >= STRONG_ECHO_DB else "low"

    def as_meta(self) -> dict[str, Any]:
        """The transcript document's ``readiness``."""
        return {**self.model_dump(mode="json"), "echo_path": self.echo_path}


class ReadinessInvalid(ValueError):
    """The body is not a readiness result; ``field`` names the first wrong field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


def parse_readiness(value: object) -> Readiness:
    """The readiness result in ``value``; raise `ReadinessInvalid` naming what is wrong."""
    if not isinstance(value, dict):
        raise ReadinessInvalid("readiness", "must be an object")
    try:
        return Readiness.model_validate(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(["readiness", *(str(part) for part in first["loc"])])
        raise ReadinessInvalid(field, first["msg"]) from None

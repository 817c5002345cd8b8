"""Choose the interviewer implementation from the settings.

``ZENHIRE_INTERVIEWER=local`` (the default) is the embedded interviewer;
its tuning comes from ``ZENHIRE_LOCAL_<FIELD>`` variables, one per field of
`LocalInterviewerSettings` (e.g. ``ZENHIRE_LOCAL_END_OF_TURN_SILENCE_MS``),
read with the other settings by `gateway.settings.Settings.from_env`.
``ZENHIRE_INTERVIEWER=realtime`` relays to an upstream speaking the OpenAI
Realtime protocol (`gateway.interviewer.realtime`), configured by
``ZENHIRE_REALTIME_*`` and ``OPENAI_API_KEY`` (read by `gateway.settings`);
with ``ZENHIRE_INTERVIEWER_FALLBACK=local`` (the default) the embedded
interviewer holds the rest of an interview whose upstream is gone for good.
"""

from __future__ import annotations

from gateway.interviewer import InterviewerFactory
from gateway.interviewer.local.interviewer import LocalInterviewerFactory
from gateway.interviewer.realtime.interviewer import RealtimeInterviewerFactory, UpstreamReport
from gateway.settings import Settings


def build_interviewers(
    settings: Settings, report: UpstreamReport | None = None
) -> InterviewerFactory:
    """The configured interviewer; an upstream reports its health to ``report``."""
    local = LocalInterviewerFactory(settings.local)
    if settings.realtime is not None:
        fallback = local if settings.realtime.fallback == "local" else None
        return RealtimeInterviewerFactory(settings.realtime, report, fallback)
    return local

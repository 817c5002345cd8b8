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

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gateway.interviewer import InterviewerFactory
from gateway.interviewer.local.interviewer import LocalInterviewerFactory, open_models
from gateway.interviewer.realtime.interviewer import RealtimeInterviewerFactory, UpstreamReport
from gateway.settings import Settings


@asynccontextmanager
async def open_interviewers(
    settings: Settings, report: UpstreamReport | None = None
) -> AsyncIterator[InterviewerFactory]:
    """The configured interviewer for the process's lifetime; an upstream reports
    its health to ``report``. The local one's models (the end-of-turn judge's
    worker thread, Silero VAD) load here, once, and are released on exit; a
    realtime interviewer without the local fallback loads none."""
    realtime = settings.realtime
    if realtime is not None and realtime.fallback != "local":
        yield RealtimeInterviewerFactory(realtime, report, None)
        return
    with open_models(settings.local) as models:
        local = LocalInterviewerFactory(settings.local, models=models)
        if realtime is None:
            yield local
        else:
            yield RealtimeInterviewerFactory(realtime, report, local)

"""Choose the interviewer implementation from the settings.

``ZENHIRE_INTERVIEWER=local`` (the default) is the embedded interviewer;
its tuning comes from ``ZENHIRE_LOCAL_<FIELD>`` variables, one per field of
`LocalInterviewerSettings` (e.g. ``ZENHIRE_LOCAL_END_OF_TURN_SILENCE_MS``),
read with the other settings by `gateway.settings.Settings.from_env`.
``ZENHIRE_INTERVIEWER=realtime`` relays to an upstream speaking the OpenAI
Realtime protocol (`gateway.interviewer.realtime`), configured by
``ZENHIRE_REALTIME_*`` and ``OPENAI_API_KEY`` (read by `gateway.settings`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gateway.interviewer import InterviewerFactory
from gateway.interviewer.local.interviewer import LocalInterviewerFactory, open_models
from gateway.interviewer.realtime.interviewer import RealtimeInterviewerFactory, UpstreamReport
from gateway.settings import Settings


@contextmanager
def open_interviewers(
    settings: Settings, report: UpstreamReport | None = None
) -> Iterator[InterviewerFactory]:
    """The configured interviewer for the process's lifetime; an upstream reports
    its health to ``report``. The local one's models (the end-of-turn judge's
    worker thread, Silero VAD) load here, once, and are released on exit."""
    if settings.realtime is not None:
        yield RealtimeInterviewerFactory(settings.realtime, report)
        return
    with open_models(settings.local) as models:
        yield LocalInterviewerFactory(settings.local, models=models)

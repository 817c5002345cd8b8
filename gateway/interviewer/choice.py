"""Choose the interviewer implementation from the settings.

``ZENHIRE_INTERVIEWER=local`` (the default) is the embedded interviewer;
its tuning comes from ``ZENHIRE_LOCAL_<FIELD>`` variables, one per field of
`LocalInterviewerSettings` (e.g. ``ZENHIRE_LOCAL_END_OF_TURN_SILENCE_MS``).
``ZENHIRE_INTERVIEWER=realtime`` relays to an upstream speaking the OpenAI
Realtime protocol (`gateway.interviewer.realtime`), configured by
``ZENHIRE_REALTIME_*`` and ``OPENAI_API_KEY`` (read by `gateway.settings`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gateway.errors import ConfigError
from gateway.interviewer import InterviewerFactory
from gateway.interviewer.local.interviewer import LocalInterviewerFactory
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.realtime.interviewer import RealtimeInterviewerFactory, UpstreamReport
from gateway.settings import Settings
from zenhire.environment import Environment, SettingError

LOCAL_PREFIX = "ZENHIRE_LOCAL_"


def build_interviewers(
    settings: Settings, report: UpstreamReport | None = None
) -> InterviewerFactory:
    """The configured interviewer; an upstream reports its health to ``report``."""
    if settings.realtime is not None:
        return RealtimeInterviewerFactory(settings.realtime, report)
    return LocalInterviewerFactory(local_settings(dict(settings.local_env)))


def local_settings(environ: dict[str, str]) -> LocalInterviewerSettings:
    """`LocalInterviewerSettings` with every ``ZENHIRE_LOCAL_*`` override applied."""
    env = Environment(environ)
    known = {
        LOCAL_PREFIX + field.name.upper(): field
        for field in dataclasses.fields(LocalInterviewerSettings)
    }
    unknown = sorted(set(environ) - set(known))
    if unknown:
        raise ConfigError(f"{unknown[0]} is not a local interviewer setting")
    defaults = LocalInterviewerSettings()
    overrides: dict[str, Any] = {}
    try:
        for key, field in known.items():
            if key not in environ:
                continue
            default = getattr(defaults, field.name)
            if isinstance(default, bool):
                overrides[field.name] = env.choice(key, "true", ("true", "false")) == "true"
            elif isinstance(default, int):
                overrides[field.name] = env.integer(key, default)
            elif isinstance(default, float):
                overrides[field.name] = env.number(key, default)
            else:
                overrides[field.name] = env.text(key, str(default))
        return dataclasses.replace(defaults, **overrides)
    except (SettingError, ValueError) as exc:
        raise ConfigError(f"local interviewer settings: {exc}") from exc

"""Gateway configuration, read once from the environment at start-up.

| variable | default | meaning |
|---|---|---|
| ZENHIRE_S2S_SECRET | zenhire-dev-s2s-secret | shared HMAC secret with the control plane |
| ZENHIRE_DATA_DIR | ./data | spool, outbox database and local artifacts |
| ZENHIRE_GATEWAY_HOST / _PORT | 127.0.0.1 / 8800 | where `zenhire gateway serve` listens |
| ZENHIRE_GATEWAY_PUBLIC_URL | http://127.0.0.1:8800 | the URL candidates open |
| ZENHIRE_ALLOWED_ORIGINS | origin of the public URL | comma-separated WebSocket origins |
| ZENHIRE_CONTROLPLANE_URL | http://127.0.0.1:8700 | S2S base URL of the control plane |
| ZENHIRE_INTERVIEWER | local | `local` (embedded interviewer) |
| ZENHIRE_TICKET_TTL_SEC | 900 | lifetime of a candidate ticket |
| ZENHIRE_RECONNECT_GRACE_SEC | 30 | how long a live session waits for its candidate to come back |
| ZENHIRE_WRAP_UP_SEC | 60 | the interviewer is told to wrap up this long before the end |
| ZENHIRE_WAITING_RETRY_SEC | 3 | how often the waiting room retries for a slot |
| ZENHIRE_OUTBOX_MAX_ATTEMPTS | 25 | event delivery attempts before giving up |
| ZENHIRE_OUTBOX_MAX_AGE_SEC | 86400 | event delivery gives up after this long |
| ZENHIRE_OUTBOX_BASE_DELAY_SEC | 0.5 | first retry delay (doubles, with jitter) |
| ZENHIRE_OUTBOX_MAX_DELAY_SEC | 60 | cap on one retry delay |
| ZENHIRE_STATIC_DIR | the repository's static/ | the candidate page's files |
| ZENHIRE_LOCAL_* | see `gateway.interviewer.local` | local interviewer tuning |
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gateway.errors import ConfigError
from zenhire.environment import Environment, SettingError

DEV_S2S_SECRET = "zenhire-dev-s2s-secret"
SOURCE_STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
INTERVIEWERS = ("local",)


@dataclass(frozen=True)
class OutboxSettings:
    max_attempts: int = 25
    max_age_sec: float = 86_400.0
    base_delay_sec: float = 0.5
    max_delay_sec: float = 60.0


@dataclass(frozen=True)
class Settings:
    s2s_secret: str = DEV_S2S_SECRET
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8800
    public_url: str = "http://127.0.0.1:8800"
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8800",)
    controlplane_url: str = "http://127.0.0.1:8700"
    interviewer: str = "local"
    ticket_ttl_sec: int = 900
    reconnect_grace_sec: float = 30.0
    wrap_up_sec: int = 60
    waiting_retry_sec: float = 3.0
    outbox: OutboxSettings = OutboxSettings()
    static_dir: Path = SOURCE_STATIC_DIR
    local_env: tuple[tuple[str, str], ...] = ()

    @property
    def ticket_key(self) -> bytes:
        """Key for candidate tickets, derived so that it differs from the S2S secret."""
        return hmac.new(self.s2s_secret.encode(), b"zenhire-ticket-v1", hashlib.sha256).digest()

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "gateway-outbox.sqlite3"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read every setting; raise `ConfigError` naming the first bad key."""
        env = Environment(environ)
        try:
            public_url = env.url("ZENHIRE_GATEWAY_PUBLIC_URL", "http://127.0.0.1:8800")
            origins = env.optional("ZENHIRE_ALLOWED_ORIGINS")
            return cls(
                s2s_secret=env.text("ZENHIRE_S2S_SECRET", DEV_S2S_SECRET),
                data_dir=Path(env.text("ZENHIRE_DATA_DIR", "data")),
                host=env.text("ZENHIRE_GATEWAY_HOST", "127.0.0.1"),
                port=env.integer("ZENHIRE_GATEWAY_PORT", 8800),
                public_url=public_url,
                allowed_origins=(
                    tuple(o.strip().rstrip("/") for o in origins.split(",") if o.strip())
                    if origins
                    else (origin_of(public_url),)
                ),
                controlplane_url=env.url("ZENHIRE_CONTROLPLANE_URL", "http://127.0.0.1:8700"),
                interviewer=env.choice("ZENHIRE_INTERVIEWER", "local", INTERVIEWERS),
                ticket_ttl_sec=env.integer("ZENHIRE_TICKET_TTL_SEC", 900, minimum=10),
                reconnect_grace_sec=env.number("ZENHIRE_RECONNECT_GRACE_SEC", 30.0),
                wrap_up_sec=env.integer("ZENHIRE_WRAP_UP_SEC", 60),
                waiting_retry_sec=env.number("ZENHIRE_WAITING_RETRY_SEC", 3.0, minimum=0.1),
                outbox=OutboxSettings(
                    max_attempts=env.integer("ZENHIRE_OUTBOX_MAX_ATTEMPTS", 25, minimum=1),
                    max_age_sec=env.number("ZENHIRE_OUTBOX_MAX_AGE_SEC", 86_400.0),
                    base_delay_sec=env.number("ZENHIRE_OUTBOX_BASE_DELAY_SEC", 0.5),
                    max_delay_sec=env.number("ZENHIRE_OUTBOX_MAX_DELAY_SEC", 60.0),
                ),
                static_dir=Path(env.text("ZENHIRE_STATIC_DIR", str(SOURCE_STATIC_DIR))),
                local_env=tuple(
                    sorted((k, v) for k, v in environ.items() if k.startswith("ZENHIRE_LOCAL_"))
                ),
            )
        except SettingError as exc:
            raise ConfigError(str(exc)) from exc


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

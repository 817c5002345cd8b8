"""Gateway configuration, read once from the environment at start-up.

| variable | default | meaning |
|---|---|---|
| ZENHIRE_S2S_SECRET | zenhire-dev-s2s-secret | shared HMAC secret with the control plane |
| ZENHIRE_DATA_DIR | ./data | spool, outbox database and local artifacts |
| ZENHIRE_GATEWAY_HOST / _PORT | 127.0.0.1 / 8800 | where `zenhire gateway serve` listens |
| ZENHIRE_GATEWAY_PUBLIC_URL | http://127.0.0.1:8800 | the URL candidates open |
| ZENHIRE_ALLOWED_ORIGINS | origin of the public URL | comma-separated WebSocket origins |
| ZENHIRE_CONTROLPLANE_URL | http://127.0.0.1:8700 | S2S base URL of the control plane |
| ZENHIRE_INTERVIEWER | local | `local` (embedded) or `realtime` (OpenAI Realtime upstream) |
| ZENHIRE_REALTIME_URL | wss://api.openai.com/v1/realtime | the realtime upstream (ws/wss) |
| ZENHIRE_REALTIME_MODEL / _VOICE | gpt-realtime / marin | upstream model and voice |
| OPENAI_API_KEY | (required for `realtime`) | upstream key, sent only as a Bearer header |
| ZENHIRE_REALTIME_HANDOVER_SEC | 3300 | move to a fresh upstream session after this long |
| ZENHIRE_REALTIME_* | see `realtime_settings` | transcription model, reconnect budget, timeouts |
| ZENHIRE_TICKET_TTL_SEC | 900 | lifetime of a candidate ticket |
| ZENHIRE_RECONNECT_GRACE_SEC | 30 | how long a live session waits for its candidate to come back |
| ZENHIRE_WRAP_UP_SEC | 60 | the interviewer is told to wrap up this long before the end |
| ZENHIRE_WAITING_RETRY_SEC | 3 | how often the waiting room retries for a slot |
| ZENHIRE_MIN_FREE_DISK_MB | 256 | below this much free disk, no new interview starts here |
| ZENHIRE_OUTBOX_MAX_ATTEMPTS | 5000 | delivery attempts of one event (the age limit comes first) |
| ZENHIRE_OUTBOX_MAX_AGE_SEC | 86400 | past this, an undelivered event is a dead letter |
| ZENHIRE_OUTBOX_BASE_DELAY_SEC | 0.5 | first retry delay (doubles, with jitter) |
| ZENHIRE_OUTBOX_MAX_DELAY_SEC | 60 | cap on one retry delay |
| ZENHIRE_STATIC_DIR | the repository's static/ | the candidate page's files |
| ZENHIRE_ICE_SERVERS | [] | STUN/TURN servers, a JSON list of RTCIceServer dicts (page too) |
| ZENHIRE_WEBRTC_PORT_MIN / _MAX | unset | published UDP range for WebRTC (`transports.peers`) |
| ZENHIRE_WEBRTC_MEDIA | inline | `inline` (Opus on the event loop) or `stock` (aiortc's threads) |
| ZENHIRE_LOCAL_* | see `gateway.interviewer.choice` | local interviewer tuning |
| ZENHIRE_OPERATOR_KEY | unset (console off) | one operator key for /ops (identity `operator`) |
| ZENHIRE_OPERATOR_KEYS | unset | `name:secret,name:secret`: operator keys with identities |
| ZENHIRE_REDIS_URL | unset (in-process) | state shared by replicas: slots, live directory |
| ZENHIRE_REPLICA_ID | host name + random suffix | this replica's name on the console |
| ZENHIRE_SLOT_LEASE_SEC | 15 | a dead replica's slots free themselves after this long |
| ZENHIRE_INTERNAL_URL | http://<host>:<port> | where other replicas forward joins to this one |
| ZENHIRE_OWNER_LEASE_SEC | 3 | a dead owner's interviews can be taken over after this long |
| ZENHIRE_CHECKPOINT_INTERVAL_SEC | 1 | a live interview is checkpointed this often (and per turn) |
| ZENHIRE_DRAIN_DEADLINE_SEC | 30 | on SIGTERM, interviews that could not move end after this long |
"""

from __future__ import annotations

import json
import re
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gateway.errors import ConfigError
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.realtime.settings import RealtimeSettings
from zenhire.backoff import Backoff
from zenhire.environment import Environment, SettingError
from zenhire.s2s_secret import DEV_S2S_SECRET, read_s2s_secrets
from zenhire.signing import derive

TICKET_PURPOSE = "candidate-tickets"
SOURCE_STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
INTERVIEWERS = ("local", "realtime")
WEBRTC_MEDIA = ("inline", "stock")
OPENAI_API_KEY = "OPENAI_API_KEY"
ICE_URL = re.compile(r"(stun|stuns|turn|turns):[^\s]+")
LOWEST_UNPRIVILEGED_PORT = 1024
HIGHEST_PORT = 65_535
OPERATOR_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
MIN_OPERATOR_SECRET_CHARS = 16
REPLICA_SUFFIX_BYTES = 3
# Bounded by age: at the 60 s cap, 5,000 attempts would take three days.
OUTBOX_RETRIES = Backoff(attempts=5_000, total_sec=86_400.0, base_sec=0.5, cap_sec=60.0)
LOCAL_DEFAULTS = LocalInterviewerSettings()


@dataclass(frozen=True)
class IceServer:
    """One STUN or TURN server, as the browser's ``RTCIceServer`` describes it."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def as_json(self) -> dict[str, object]:
        """The ``RTCIceServer`` dictionary the page passes to its ``RTCPeerConnection``."""
        found: dict[str, object] = {"urls": list(self.urls)}
        if self.username is not None:
            found["username"] = self.username
        if self.credential is not None:
            found["credential"] = self.credential
        return found


@dataclass(frozen=True)
class OperationsSettings:
    """Operator access and the state shared by replicas (see `operations_settings`)."""

    operator_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    redis_url: str | None = field(default=None, repr=False)
    replica_id: str = "gateway"
    slot_lease_sec: float = 15.0
    internal_url: str = "http://127.0.0.1:8800"
    owner_lease_sec: float = 3.0
    checkpoint_interval_sec: float = 1.0
    drain_deadline_sec: float = 30.0


@dataclass(frozen=True)
class Settings:
    s2s_secrets: tuple[str, ...] = field(default=(DEV_S2S_SECRET,), repr=False)
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
    min_free_disk_mb: int = 256
    outbox: Backoff = OUTBOX_RETRIES
    static_dir: Path = SOURCE_STATIC_DIR
    local: LocalInterviewerSettings = LOCAL_DEFAULTS
    operations: OperationsSettings = OperationsSettings()
    ice_servers: tuple[IceServer, ...] = ()
    webrtc_ports: tuple[int, int] | None = None
    webrtc_media: str = "inline"
    realtime: RealtimeSettings | None = None

    @property
    def s2s_secret(self) -> str:
        """The current S2S secret (`s2s_secrets` also holds those still accepted)."""
        return self.s2s_secrets[0]

    @property
    def ticket_keys(self) -> tuple[bytes, ...]:
        """Keys for candidate tickets, derived from each S2S secret (current first)."""
        return tuple(derive(secret.encode(), TICKET_PURPOSE) for secret in self.s2s_secrets)

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
        """Read every setting; raise `ConfigError` naming the first bad key.

        Every default is the dataclass field's: a variable that is not set
        leaves the field as declared above.
        """
        env = Environment(environ)
        base = cls()
        try:
            public_url = env.url("ZENHIRE_GATEWAY_PUBLIC_URL", base.public_url)
            origins = env.optional("ZENHIRE_ALLOWED_ORIGINS")
            interviewer = env.choice("ZENHIRE_INTERVIEWER", base.interviewer, INTERVIEWERS)
            host = env.text("ZENHIRE_GATEWAY_HOST", base.host)
            port = env.integer("ZENHIRE_GATEWAY_PORT", base.port)
            return cls(
                s2s_secrets=read_s2s_secrets(env, host),
                data_dir=Path(env.text("ZENHIRE_DATA_DIR", str(base.data_dir))),
                host=host,
                port=port,
                public_url=public_url,
                allowed_origins=(
                    tuple(o.strip().rstrip("/") for o in origins.split(",") if o.strip())
                    if origins
                    else (origin_of(public_url),)
                ),
                controlplane_url=env.url("ZENHIRE_CONTROLPLANE_URL", base.controlplane_url),
                interviewer=interviewer,
                ticket_ttl_sec=env.integer(
                    "ZENHIRE_TICKET_TTL_SEC", base.ticket_ttl_sec, minimum=10
                ),
                reconnect_grace_sec=env.number(
                    "ZENHIRE_RECONNECT_GRACE_SEC", base.reconnect_grace_sec
                ),
                wrap_up_sec=env.integer("ZENHIRE_WRAP_UP_SEC", base.wrap_up_sec),
                waiting_retry_sec=env.number(
                    "ZENHIRE_WAITING_RETRY_SEC", base.waiting_retry_sec, minimum=0.1
                ),
                min_free_disk_mb=env.integer(
                    "ZENHIRE_MIN_FREE_DISK_MB", base.min_free_disk_mb, minimum=0
                ),
                outbox=Backoff(
                    attempts=env.integer(
                        "ZENHIRE_OUTBOX_MAX_ATTEMPTS", base.outbox.attempts, minimum=1
                    ),
                    total_sec=env.number("ZENHIRE_OUTBOX_MAX_AGE_SEC", base.outbox.total_sec),
                    base_sec=env.number("ZENHIRE_OUTBOX_BASE_DELAY_SEC", base.outbox.base_sec),
                    cap_sec=env.number("ZENHIRE_OUTBOX_MAX_DELAY_SEC", base.outbox.cap_sec),
                ),
                static_dir=Path(env.text("ZENHIRE_STATIC_DIR", str(base.static_dir))),
                local=LocalInterviewerSettings.from_env(environ),
                operations=operations_settings(env, host, port),
                ice_servers=ice_servers(env.optional("ZENHIRE_ICE_SERVERS") or "[]"),
                webrtc_ports=webrtc_ports(env),
                webrtc_media=env.choice("ZENHIRE_WEBRTC_MEDIA", base.webrtc_media, WEBRTC_MEDIA),
                realtime=realtime_settings(env) if interviewer == "realtime" else None,
            )
        except SettingError as exc:
            raise ConfigError(str(exc)) from exc


def ice_servers(raw: str) -> tuple[IceServer, ...]:
    """Parse ``ZENHIRE_ICE_SERVERS``; raise `SettingError` naming the key."""
    key = "ZENHIRE_ICE_SERVERS"
    try:
        found = json.loads(raw)
    except json.JSONDecodeError:
        raise SettingError(f"{key} must be a JSON list of ICE servers") from None
    if not isinstance(found, list):
        raise SettingError(f"{key} must be a JSON list of ICE servers")
    servers = []
    for entry in found:
        urls = entry.get("urls") if isinstance(entry, dict) else None
        urls = [urls] if isinstance(urls, str) else urls
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise SettingError(f"{key}: every server needs `urls`, a URL or a list of URLs")
        bad = [u for u in urls if not ICE_URL.fullmatch(u)]
        if bad:
            raise SettingError(f"{key}: {bad[0]!r} is not a stun:, stuns:, turn: or turns: URL")
        username, credential = entry.get("username"), entry.get("credential")
        if any(u.startswith("turn") for u in urls) and not (
            isinstance(username, str) and isinstance(credential, str)
        ):
            raise SettingError(f"{key}: a TURN server needs `username` and `credential`")
        servers.append(IceServer(tuple(urls), username, credential))
    return tuple(servers)


def webrtc_ports(env: Environment) -> tuple[int, int] | None:
    """The ``ZENHIRE_WEBRTC_PORT_MIN``/``_MAX`` range: both or neither."""
    low = env.integer("ZENHIRE_WEBRTC_PORT_MIN", 0)
    high = env.integer("ZENHIRE_WEBRTC_PORT_MAX", 0)
    if not low and not high:
        return None
    if not low or not high:
        raise SettingError("ZENHIRE_WEBRTC_PORT_MIN and ZENHIRE_WEBRTC_PORT_MAX go together")
    if not LOWEST_UNPRIVILEGED_PORT <= low <= high <= HIGHEST_PORT:
        raise SettingError(
            f"ZENHIRE_WEBRTC_PORT_MIN..MAX must be a range within "
            f"{LOWEST_UNPRIVILEGED_PORT}..{HIGHEST_PORT}, got {low}..{high}"
        )
    return low, high


def operations_settings(
    env: Environment, host: str = "127.0.0.1", port: int = 8800
) -> OperationsSettings:
    """Operator keys, state store and replica identity; raise `SettingError` naming the key.

    ``host`` and ``port`` (where this replica listens) make the default internal URL.
    """
    keys: list[tuple[str, str]] = []
    single = env.optional("ZENHIRE_OPERATOR_KEY")
    if single is not None:
        keys.append(("operator", _operator_secret("ZENHIRE_OPERATOR_KEY", single)))
    for pair in (env.optional("ZENHIRE_OPERATOR_KEYS") or "").split(","):
        if not pair.strip():
            continue
        name, sep, secret = pair.strip().partition(":")
        if not sep or not OPERATOR_NAME.fullmatch(name):
            raise SettingError("ZENHIRE_OPERATOR_KEYS must be name:secret pairs, comma-separated")
        keys.append((name, _operator_secret("ZENHIRE_OPERATOR_KEYS", secret)))
    redis_url = env.optional("ZENHIRE_REDIS_URL")
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingError("ZENHIRE_REDIS_URL must be a redis://, rediss:// or unix:// URL")
    base = OperationsSettings()
    replica_id = env.optional("ZENHIRE_REPLICA_ID") or (
        f"{socket.gethostname()}-{secrets.token_hex(REPLICA_SUFFIX_BYTES)}"
    )
    if not OPERATOR_NAME.fullmatch(replica_id):
        raise SettingError("ZENHIRE_REPLICA_ID may hold letters, digits, '.', '_' and '-'")
    return OperationsSettings(
        operator_keys=tuple(keys),
        redis_url=redis_url,
        replica_id=replica_id,
        slot_lease_sec=env.number("ZENHIRE_SLOT_LEASE_SEC", base.slot_lease_sec, minimum=3.0),
        internal_url=env.url("ZENHIRE_INTERNAL_URL", default_internal_url(host, port)).rstrip("/"),
        owner_lease_sec=env.number("ZENHIRE_OWNER_LEASE_SEC", base.owner_lease_sec, minimum=1.0),
        checkpoint_interval_sec=env.number(
            "ZENHIRE_CHECKPOINT_INTERVAL_SEC", base.checkpoint_interval_sec, minimum=0.1
        ),
        drain_deadline_sec=env.number(
            "ZENHIRE_DRAIN_DEADLINE_SEC", base.drain_deadline_sec, minimum=0.0
        ),
    )


def default_internal_url(host: str, port: int) -> str:
    """``http://host:port``; a wildcard address is replaced by this machine's name."""
    reachable = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
    return f"http://{reachable}:{port}"


def _operator_secret(key: str, secret: str) -> str:
    if len(secret) < MIN_OPERATOR_SECRET_CHARS:
        raise SettingError(f"{key}: an operator key needs {MIN_OPERATOR_SECRET_CHARS}+ characters")
    return secret


def realtime_settings(env: Environment) -> RealtimeSettings:
    """The realtime upstream's settings; raise `SettingError` naming the key (the API key
    in ``OPENAI_API_KEY`` is required)."""
    api_key = env.optional(OPENAI_API_KEY)
    if api_key is None:
        raise SettingError(f"{OPENAI_API_KEY} must be set when ZENHIRE_INTERVIEWER=realtime")
    base = RealtimeSettings(api_key=api_key)
    url = env.text("ZENHIRE_REALTIME_URL", base.url)
    if not url.startswith(("ws://", "wss://")):
        raise SettingError(f"ZENHIRE_REALTIME_URL must be a ws:// or wss:// URL, got {url!r}")
    return RealtimeSettings(
        api_key=api_key,
        url=url,
        model=env.text("ZENHIRE_REALTIME_MODEL", base.model),
        voice=env.text("ZENHIRE_REALTIME_VOICE", base.voice),
        transcription_model=env.text(
            "ZENHIRE_REALTIME_TRANSCRIPTION_MODEL", base.transcription_model
        ),
        handover_sec=env.number("ZENHIRE_REALTIME_HANDOVER_SEC", base.handover_sec, minimum=1.0),
        connect_timeout_sec=env.number(
            "ZENHIRE_REALTIME_CONNECT_TIMEOUT_SEC", base.connect_timeout_sec, minimum=0.1
        ),
        reconnect_attempts=env.integer(
            "ZENHIRE_REALTIME_RECONNECT_ATTEMPTS", base.reconnect_attempts, minimum=1
        ),
        reconnect_max_sec=env.number("ZENHIRE_REALTIME_RECONNECT_MAX_SEC", base.reconnect_max_sec),
        reconnect_base_delay_sec=env.number(
            "ZENHIRE_REALTIME_RECONNECT_BASE_DELAY_SEC", base.reconnect_base_delay_sec
        ),
        reconnect_max_delay_sec=env.number(
            "ZENHIRE_REALTIME_RECONNECT_MAX_DELAY_SEC", base.reconnect_max_delay_sec
        ),
        silence_timeout_sec=env.number(
            "ZENHIRE_REALTIME_SILENCE_TIMEOUT_SEC", base.silence_timeout_sec, minimum=0.1
        ),
    )


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

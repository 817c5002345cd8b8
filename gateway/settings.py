"""Gateway configuration, read once from the environment at start-up.

| variable | default | meaning |
|---|---|---|
| ZENHIRE_S2S_SECRET | zenhire-dev-s2s-secret | shared HMAC secret with the control plane |
| ZENHIRE_DATA_DIR | ./data | spool, outbox database and local artifacts |
| ZENHIRE_GATEWAY_HOST / _PORT | 127.0.0.1 / 8800 | where `zenhire gateway serve` listens |
| ZENHIRE_GATEWAY_PUBLIC_URL | http://127.0.0.1:8800 | the URL candidates open |
| ZENHIRE_ALLOWED_ORIGINS | origin of the public URL | comma-separated WebSocket origins |
| ZENHIRE_CONTROLPLANE_URL | http://127.0.0.1:8700 | the control plane (https off loopback) |
| ZENHIRE_CONTROLPLANE_PLAIN_HTTP | 0 | 1: allow http off loopback (a private network) |
| ZENHIRE_INTERVIEWER | local | `local` (embedded) or `realtime` (OpenAI Realtime upstream) |
| ZENHIRE_REALTIME_URL | wss://api.openai.com/v1/realtime | the realtime upstream (ws/wss) |
| ZENHIRE_REALTIME_MODEL / _VOICE | gpt-realtime / marin | upstream model and voice |
| OPENAI_API_KEY | (required for `realtime`) | upstream key, sent only as a Bearer header |
| ZENHIRE_REALTIME_HANDOVER_SEC | 3300 | move to a fresh upstream session after this long |
| ZENHIRE_REALTIME_* | see `realtime_settings` | transcription, reconnects, turns, barge-in |
| ZENHIRE_INTERVIEWER_FALLBACK | local | `local` holds the rest when the upstream is gone |
| ZENHIRE_TICKET_TTL_SEC | 900 | lifetime of a candidate ticket |
| ZENHIRE_RECONNECT_GRACE_SEC | 30 | how long a live session waits for its candidate to come back |
| ZENHIRE_WRAP_UP_SEC | 60 | the interviewer is told to wrap up this long before the end |
| ZENHIRE_WAITING_RETRY_SEC | 3 | how often the waiting room retries for a slot |
| ZENHIRE_MIN_FREE_DISK_MB | 256 | below this much free disk, no new interview starts here |
| ZENHIRE_READY_MAX_LOOP_LAG_MS | 250 | not ready while the recent p99 loop lag is above this |
| ZENHIRE_READY_LOOP_LAG_WINDOW_SEC | 10 | the "recent" of that p99 |
| ZENHIRE_DISK_IO | thread | `thread`, or `inline` (a diagnostic: disk writes on the event loop) |
| ZENHIRE_OUTBOX_MAX_ATTEMPTS | 5000 | delivery attempts of one event (the age limit comes first) |
| ZENHIRE_OUTBOX_MAX_AGE_SEC | 86400 | past this, an undelivered event is a dead letter |
| ZENHIRE_OUTBOX_BASE_DELAY_SEC | 0.5 | first retry delay (doubles, with jitter) |
| ZENHIRE_OUTBOX_MAX_DELAY_SEC | 60 | cap on one retry delay |
| ZENHIRE_OUTBOX_CLAIM_IDLE_SEC | 30 | with Redis: a stopped replica's events claimed after this |
| ZENHIRE_STATIC_DIR | the repository's static/ | the candidate page's files |
| ZENHIRE_ICE_SERVERS | [] | STUN/TURN servers, a JSON list of RTCIceServer dicts (page too) |
| ZENHIRE_WEBRTC_PORT_MIN / _MAX | unset | published UDP range for WebRTC (`transports.peers`) |
| ZENHIRE_WEBRTC_MEDIA | inline | `inline` (Opus on the event loop) or `stock` (aiortc's threads) |
| ZENHIRE_TURN_URLS | unset | comma-separated turn:/turns: URLs (TURN REST credentials) |
| ZENHIRE_TURN_SECRET | (required with the URLs) | its `static-auth-secret`; never logged |
| ZENHIRE_TURN_TTL_SEC | 3600 | lifetime of minted TURN credentials (at least the ticket's) |
| ZENHIRE_MAX_CPU_PERCENT | 0 (off) | past this CPU (% of one core, averaged), start no interview |
| ZENHIRE_CPU_WINDOW_SEC | 10 | the span of that moving average |
| ZENHIRE_LOCAL_* | see `gateway.interviewer.choice` | local interviewer tuning |
| ZENHIRE_OPERATOR_KEY | unset (console off) | one operator key for /ops (identity `operator`) |
| ZENHIRE_OPERATOR_KEYS | unset | `name:secret,name:secret`: operator keys with identities |
| ZENHIRE_REDIS_URL | unset (in-process) | state shared by replicas: slots, directory, outbox |
| ZENHIRE_REPLICA_ID | host name + random suffix | this replica's name on the console |
| ZENHIRE_SLOT_LEASE_SEC | 15 | a dead replica's slots free themselves after this long |
| ZENHIRE_VERIFY_PER_ADDRESS_PER_MIN | 30 | verify attempts per address and minute |
| ZENHIRE_VERIFY_PER_SEC | 50 | verify attempts per second on this replica (bursts of 2x) |
| ZENHIRE_WS_PER_ADDRESS / _MAX | 16 / 1000 | open WebSockets per address, per replica |
| ZENHIRE_PENDING_PEERS_PER_ADDRESS / _MAX | 8 / 100 | WebRTC peers still connecting, likewise |
| ZENHIRE_BODY_TIMEOUT_SEC | 10 | a request body must arrive within this long (408) |
| ZENHIRE_FORWARDED_ALLOW_IPS | unset (none) | proxies whose X-Forwarded-For names the client |
| ZENHIRE_S2S_HOST / _PORT | 127.0.0.1 / unset | an internal listener for the S2S routes alone |
| ZENHIRE_S3_BUCKET | unset (local directory) | keep artifacts in this S3 bucket |
| ZENHIRE_S3_ENDPOINT_URL | unset (AWS) | an S3-compatible endpoint (http:// allowed) |
| ZENHIRE_S3_PREFIX | unset | a key prefix inside the bucket |
| AWS_ACCESS_KEY_ID / _SECRET_ACCESS_KEY | unset | S3 credentials (else obstore's chain) |
| AWS_SESSION_TOKEN / AWS_REGION | unset | temporary credentials; the bucket's region |
| ZENHIRE_S3_SSE / _SSE_KMS_KEY_ID | unset | server-side encryption: `AES256`, `aws:kms` (+ key) |
| ZENHIRE_RECORDING_SEGMENT_SEC | 10 with S3, else 0 | recording shipped in segments this long |
| ZENHIRE_INTERNAL_URL | http://<host>:<port> | where other replicas forward joins to this one |
| ZENHIRE_OWNER_LEASE_SEC | 3 | a dead owner's interviews can be taken over after this long |
| ZENHIRE_CHECKPOINT_INTERVAL_SEC | 1 | a live interview is checkpointed this often (and per turn) |
| ZENHIRE_DRAIN_DEADLINE_SEC | 30 | on SIGTERM, interviews that could not move end after this long |
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gateway.errors import ConfigError
from gateway.interviewer.bargein import BargeInSettings
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.realtime.protocol import EAGERNESS, NOISE_REDUCTIONS, TURN_DETECTIONS
from gateway.interviewer.realtime.settings import FALLBACKS, RealtimeSettings
from zenhire.backoff import Backoff
from zenhire.environment import Environment, SettingError
from zenhire.s2s_secret import DEV_S2S_SECRET, MIN_SECRET_BYTES, is_loopback, read_s2s_secrets
from zenhire.signing import derive

TICKET_PURPOSE = "candidate-tickets"
SOURCE_STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
INTERVIEWERS = ("local", "realtime")
WEBRTC_MEDIA = ("inline", "stock")
DISK_IO = ("thread", "inline")
OPENAI_API_KEY = "OPENAI_API_KEY"
S3_ENCRYPTIONS = ("AES256", "aws:kms")
S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# A replica's death loses at most one segment of audio: the bound.
MAX_SEGMENT_SEC = 10.0
S3_SEGMENT_SEC = 10.0
ICE_URL = re.compile(r"(stun|stuns|turn|turns):[^\s]+")
TURN_URL = re.compile(r"turns?:[^\s,?]+(\?transport=(udp|tcp))?")
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
    credential: str | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, object]:
        """The ``RTCIceServer`` dictionary the page passes to its ``RTCPeerConnection``."""
        found: dict[str, object] = {"urls": list(self.urls)}
        if self.username is not None:
            found["username"] = self.username
        if self.credential is not None:
            found["credential"] = self.credential
        return found


@dataclass(frozen=True)
class TurnSettings:
    """A TURN server checking TURN REST credentials (coturn's ``use-auth-secret``)."""

    urls: tuple[str, ...]
    secret: str = field(repr=False)
    ttl_sec: int = 3600


@dataclass(frozen=True)
class LoadSettings:
    """Admission by this process's CPU (`gateway.ops.load`); a threshold of 0 is off."""

    max_cpu_percent: float = 0.0
    window_sec: float = 10.0


@dataclass(frozen=True)
class OperationsSettings:
    """Operator access and the state shared by replicas (see `operations_settings`)."""

    operator_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    redis_url: str | None = field(default=None, repr=False)
    replica_id: str = "gateway"
    slot_lease_sec: float = 15.0
    # Whether ZENHIRE_REPLICA_ID named this replica (the default name changes each start).
    replica_named: bool = False
    internal_url: str = "http://127.0.0.1:8800"
    owner_lease_sec: float = 3.0
    checkpoint_interval_sec: float = 1.0
    drain_deadline_sec: float = 30.0
    outbox_claim_idle_sec: float = 30.0


@dataclass(frozen=True)
class S3Settings:
    """Where artifacts go when they go to S3 (see `s3_settings`)."""

    bucket: str
    endpoint_url: str | None = None
    prefix: str = ""
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    sse: str | None = None
    sse_kms_key_id: str | None = None


@dataclass(frozen=True)
class EdgeSettings:
    """What the edge admits and where it listens (see `edge_settings`, `gateway.limits`)."""

    verify_per_address_per_min: int = 30
    verify_per_sec: int = 50
    websockets_per_address: int = 16
    websockets_max: int = 1000
    pending_peers_per_address: int = 8
    pending_peers_max: int = 100
    body_timeout_sec: float = 10.0
    forwarded_allow_ips: tuple[str, ...] = ()
    s2s_listener: tuple[str, int] | None = None


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
    rating_window_sec: int = 60
    waiting_retry_sec: float = 3.0
    min_free_disk_mb: int = 256
    ready_max_loop_lag_ms: float = 250.0
    ready_loop_lag_window_sec: float = 10.0
    disk_io: str = "thread"
    outbox: Backoff = OUTBOX_RETRIES
    static_dir: Path = SOURCE_STATIC_DIR
    local: LocalInterviewerSettings = LOCAL_DEFAULTS
    operations: OperationsSettings = OperationsSettings()
    edge: EdgeSettings = EdgeSettings()
    ice_servers: tuple[IceServer, ...] = ()
    webrtc_ports: tuple[int, int] | None = None
    webrtc_media: str = "inline"
    turn: TurnSettings | None = None
    load: LoadSettings = LoadSettings()
    realtime: RealtimeSettings | None = None
    s3: S3Settings | None = None
    segment_sec: float = 0.0

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
        """The live recordings of this replica: its own folder once it is named, so
        replicas sharing a data volume never recover or delete each other's."""
        if self.operations.replica_named:
            return self.data_dir / "spool" / self.operations.replica_id
        return self.data_dir / "spool"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def outbox_path(self) -> Path:
        if self.operations.replica_named:
            return self.data_dir / f"gateway-outbox-{self.operations.replica_id}.sqlite3"
        return self.data_dir / "gateway-outbox.sqlite3"

    @property
    def outbox_journal_path(self) -> Path:
        """With Redis: the local copies of this replica's events (`gateway.s2s.journal`)."""
        if self.operations.replica_named:
            return self.data_dir / f"gateway-outbox-journal-{self.operations.replica_id}.sqlite3"
        return self.data_dir / "gateway-outbox-journal.sqlite3"

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
            s2s_secrets = read_s2s_secrets(env, host)
            ticket_ttl_sec = env.integer("ZENHIRE_TICKET_TTL_SEC", base.ticket_ttl_sec, minimum=10)
            s3 = s3_settings(env)
            segment_sec = env.number(
                "ZENHIRE_RECORDING_SEGMENT_SEC", S3_SEGMENT_SEC if s3 else base.segment_sec
            )
            if segment_sec > MAX_SEGMENT_SEC:
                raise SettingError(
                    f"ZENHIRE_RECORDING_SEGMENT_SEC must be at most {MAX_SEGMENT_SEC:g}"
                )
            port = env.integer("ZENHIRE_GATEWAY_PORT", base.port)
            return cls(
                s2s_secrets=s2s_secrets,
                data_dir=Path(env.text("ZENHIRE_DATA_DIR", str(base.data_dir))),
                host=host,
                port=port,
                public_url=public_url,
                allowed_origins=(
                    tuple(o.strip().rstrip("/") for o in origins.split(",") if o.strip())
                    if origins
                    else (origin_of(public_url),)
                ),
                controlplane_url=controlplane_url(env, base.controlplane_url),
                interviewer=interviewer,
                ticket_ttl_sec=ticket_ttl_sec,
                reconnect_grace_sec=env.number(
                    "ZENHIRE_RECONNECT_GRACE_SEC", base.reconnect_grace_sec
                ),
                wrap_up_sec=env.integer("ZENHIRE_WRAP_UP_SEC", base.wrap_up_sec),
                rating_window_sec=env.integer("ZENHIRE_RATING_WINDOW_SEC", base.rating_window_sec),
                waiting_retry_sec=env.number(
                    "ZENHIRE_WAITING_RETRY_SEC", base.waiting_retry_sec, minimum=0.1
                ),
                min_free_disk_mb=env.integer(
                    "ZENHIRE_MIN_FREE_DISK_MB", base.min_free_disk_mb, minimum=0
                ),
                ready_max_loop_lag_ms=env.number(
                    "ZENHIRE_READY_MAX_LOOP_LAG_MS", base.ready_max_loop_lag_ms, minimum=1.0
                ),
                ready_loop_lag_window_sec=env.number(
                    "ZENHIRE_READY_LOOP_LAG_WINDOW_SEC", base.ready_loop_lag_window_sec, minimum=0.5
                ),
                disk_io=env.choice("ZENHIRE_DISK_IO", base.disk_io, DISK_IO),
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
                edge=edge_settings(env, host, port),
                ice_servers=ice_servers(env.optional("ZENHIRE_ICE_SERVERS") or "[]"),
                webrtc_ports=webrtc_ports(env),
                webrtc_media=env.choice("ZENHIRE_WEBRTC_MEDIA", base.webrtc_media, WEBRTC_MEDIA),
                turn=turn_settings(env, host, s2s_secrets, ticket_ttl_sec),
                load=load_settings(env),
                realtime=realtime_settings(env) if interviewer == "realtime" else None,
                s3=s3,
                segment_sec=segment_sec,
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


def controlplane_url(env: Environment, default: str) -> str:
    """``ZENHIRE_CONTROLPLANE_URL``: plain http only to this machine, since tokens,
    transcripts and recordings cross it."""
    url = env.url("ZENHIRE_CONTROLPLANE_URL", default)
    parts = urlsplit(url)
    private = env.flag("ZENHIRE_CONTROLPLANE_PLAIN_HTTP", False)
    if parts.scheme != "https" and not is_loopback(parts.hostname or "") and not private:
        raise SettingError(
            f"ZENHIRE_CONTROLPLANE_URL must be https:// unless it is on this machine, got "
            f"{url!r} (ZENHIRE_CONTROLPLANE_PLAIN_HTTP=1 allows http on a private network)"
        )
    return url


def turn_settings(
    env: Environment, host: str, s2s_secrets: tuple[str, ...], ticket_ttl_sec: int
) -> TurnSettings | None:
    """``ZENHIRE_TURN_URLS``/``_SECRET``/``_TTL_SEC``: both the URLs and the secret, or neither.

    Off loopback the secret must be long enough to resist guessing (anyone holding it
    mints credentials for the relay), and it is never one of the S2S secrets: the TURN
    server's configuration holds it too. Credentials live at least as long as the
    ticket they come with, since the page reuses them for every reconnect on that ticket.
    """
    raw_urls, secret = env.optional("ZENHIRE_TURN_URLS"), env.optional("ZENHIRE_TURN_SECRET")
    if raw_urls is None and secret is None:
        return None
    if raw_urls is None or secret is None:
        raise SettingError("ZENHIRE_TURN_URLS and ZENHIRE_TURN_SECRET go together")
    urls = tuple(u.strip() for u in raw_urls.split(",") if u.strip())
    bad = [u for u in urls if not TURN_URL.fullmatch(u)]
    if not urls or bad:
        raise SettingError(
            f"ZENHIRE_TURN_URLS must be comma-separated turn: or turns: URLs, got {raw_urls!r}"
        )
    if secret in s2s_secrets:
        raise SettingError("ZENHIRE_TURN_SECRET must differ from the S2S secrets")
    if not is_loopback(host) and len(secret.encode()) < MIN_SECRET_BYTES:
        raise SettingError(
            f"ZENHIRE_TURN_SECRET must be at least {MIN_SECRET_BYTES} bytes "
            f"when listening on {host}"
        )
    ttl_sec = env.integer("ZENHIRE_TURN_TTL_SEC", TurnSettings.ttl_sec, minimum=ticket_ttl_sec)
    return TurnSettings(urls, secret, ttl_sec)


def load_settings(env: Environment) -> LoadSettings:
    """``ZENHIRE_MAX_CPU_PERCENT`` (0: off) and ``ZENHIRE_CPU_WINDOW_SEC``."""
    base = LoadSettings()
    return LoadSettings(
        max_cpu_percent=env.number("ZENHIRE_MAX_CPU_PERCENT", base.max_cpu_percent),
        window_sec=env.number("ZENHIRE_CPU_WINDOW_SEC", base.window_sec, minimum=1.0),
    )


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
    named = env.optional("ZENHIRE_REPLICA_ID")
    replica_id = named or (f"{socket.gethostname()}-{secrets.token_hex(REPLICA_SUFFIX_BYTES)}")
    if not OPERATOR_NAME.fullmatch(replica_id):
        raise SettingError("ZENHIRE_REPLICA_ID may hold letters, digits, '.', '_' and '-'")
    return OperationsSettings(
        operator_keys=tuple(keys),
        redis_url=redis_url,
        replica_id=replica_id,
        slot_lease_sec=env.number("ZENHIRE_SLOT_LEASE_SEC", base.slot_lease_sec, minimum=3.0),
        replica_named=named is not None,
        internal_url=env.url("ZENHIRE_INTERNAL_URL", default_internal_url(host, port)).rstrip("/"),
        owner_lease_sec=env.number("ZENHIRE_OWNER_LEASE_SEC", base.owner_lease_sec, minimum=1.0),
        checkpoint_interval_sec=env.number(
            "ZENHIRE_CHECKPOINT_INTERVAL_SEC", base.checkpoint_interval_sec, minimum=0.1
        ),
        drain_deadline_sec=env.number(
            "ZENHIRE_DRAIN_DEADLINE_SEC", base.drain_deadline_sec, minimum=0.0
        ),
        outbox_claim_idle_sec=env.number(
            "ZENHIRE_OUTBOX_CLAIM_IDLE_SEC", base.outbox_claim_idle_sec, minimum=1.0
        ),
    )


def s3_settings(env: Environment) -> S3Settings | None:
    """The S3 store's settings, or None for the local directory; raise `SettingError`."""
    bucket = env.optional("ZENHIRE_S3_BUCKET")
    if bucket is None:
        return None
    if not S3_BUCKET.fullmatch(bucket):
        raise SettingError("ZENHIRE_S3_BUCKET must be a bucket name (3-63 of a-z, 0-9, '.', '-')")
    endpoint = env.optional("ZENHIRE_S3_ENDPOINT_URL")
    if endpoint is not None:
        endpoint = env.url("ZENHIRE_S3_ENDPOINT_URL", endpoint).rstrip("/")
    sse = env.optional("ZENHIRE_S3_SSE")
    if sse is not None and sse not in S3_ENCRYPTIONS:
        raise SettingError("ZENHIRE_S3_SSE must be one of " + ", ".join(S3_ENCRYPTIONS))
    kms_key = env.optional("ZENHIRE_S3_SSE_KMS_KEY_ID")
    if kms_key is not None and sse != "aws:kms":
        raise SettingError("ZENHIRE_S3_SSE_KMS_KEY_ID needs ZENHIRE_S3_SSE=aws:kms")
    access_key, secret_key = (
        env.optional("AWS_ACCESS_KEY_ID"),
        env.optional("AWS_SECRET_ACCESS_KEY"),
    )
    if (access_key is None) != (secret_key is None):
        raise SettingError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together")
    return S3Settings(
        bucket=bucket,
        endpoint_url=endpoint,
        prefix=(env.optional("ZENHIRE_S3_PREFIX") or "").strip("/"),
        region=env.optional("AWS_REGION") or env.optional("AWS_DEFAULT_REGION"),
        access_key_id=access_key,
        secret_access_key=secret_key,
        session_token=env.optional("AWS_SESSION_TOKEN"),
        sse=sse,
        sse_kms_key_id=kms_key,
    )


def edge_settings(env: Environment, host: str, port: int) -> EdgeSettings:
    """Limits, trusted proxies and the internal listener; raise `SettingError` naming the key."""
    base = EdgeSettings()

    def count(key: str, default: int) -> int:
        return env.integer(key, default, minimum=1)

    forwarded = env.optional("ZENHIRE_FORWARDED_ALLOW_IPS")
    # uvicorn's own variable, for an operator who followed its documentation.
    forwarded_key = "ZENHIRE_FORWARDED_ALLOW_IPS" if forwarded else "FORWARDED_ALLOW_IPS"
    proxies = tuple(
        p.strip() for p in (forwarded or env.optional(forwarded_key) or "").split(",") if p.strip()
    )
    for proxy in proxies:
        if proxy != "*" and not _network(proxy):
            raise SettingError(
                f"{forwarded_key} must list IP addresses or networks (or *), got {proxy!r}"
            )
    listener = None
    s2s_port = env.integer("ZENHIRE_S2S_PORT", 0)
    if s2s_port:
        listener = (env.text("ZENHIRE_S2S_HOST", "127.0.0.1"), s2s_port)
        if s2s_port > HIGHEST_PORT or listener == (host, port):
            raise SettingError(
                "ZENHIRE_S2S_PORT must be a port other than the public listener's "
                f"(ZENHIRE_GATEWAY_PORT={port})"
            )
    return EdgeSettings(
        verify_per_address_per_min=count(
            "ZENHIRE_VERIFY_PER_ADDRESS_PER_MIN", base.verify_per_address_per_min
        ),
        verify_per_sec=count("ZENHIRE_VERIFY_PER_SEC", base.verify_per_sec),
        websockets_per_address=count("ZENHIRE_WS_PER_ADDRESS", base.websockets_per_address),
        websockets_max=count("ZENHIRE_WS_MAX", base.websockets_max),
        pending_peers_per_address=count(
            "ZENHIRE_PENDING_PEERS_PER_ADDRESS", base.pending_peers_per_address
        ),
        pending_peers_max=count("ZENHIRE_PENDING_PEERS_MAX", base.pending_peers_max),
        body_timeout_sec=env.number("ZENHIRE_BODY_TIMEOUT_SEC", base.body_timeout_sec, minimum=0.1),
        forwarded_allow_ips=proxies,
        s2s_listener=listener,
    )


def _network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


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
        turn_detection=env.choice(
            "ZENHIRE_REALTIME_TURN_DETECTION", base.turn_detection, TURN_DETECTIONS
        ),
        eagerness=env.choice("ZENHIRE_REALTIME_EAGERNESS", base.eagerness, EAGERNESS),
        noise_reduction=env.choice(
            "ZENHIRE_REALTIME_NOISE_REDUCTION", base.noise_reduction, NOISE_REDUCTIONS
        ),
        barge_in=barge_in_settings(env, base.barge_in),
        fallback=env.choice("ZENHIRE_INTERVIEWER_FALLBACK", base.fallback, FALLBACKS),
    )


BOOLEANS = ("true", "false")


def barge_in_settings(env: Environment, base: BargeInSettings) -> BargeInSettings:
    """When candidate speech stops the realtime interviewer; raise `SettingError` naming
    the key."""
    prefix = "ZENHIRE_REALTIME_"
    values = {
        name: env.integer(prefix + name.upper(), getattr(base, name))
        for name in (
            "interruption_speech_ms",
            "backchannel_max_ms",
            "burst_gap_ms",
            "echo_warmup_ms",
        )
    }
    enabled = env.choice(prefix + "BARGE_IN", "true" if base.enabled else "false", BOOLEANS)
    try:
        return BargeInSettings(enabled == "true", **values)
    except ValueError as exc:
        raise SettingError(f"{prefix}* barge-in settings: {exc}") from exc


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

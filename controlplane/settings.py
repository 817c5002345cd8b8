"""Control-plane configuration, read once from the environment at start-up.

| variable | default | meaning |
|---|---|---|
| ZENHIRE_DATA_DIR | ./data | holds the database ``controlplane.sqlite3`` |
| ZENHIRE_S2S_SECRET | zenhire-dev-s2s-secret | shared HMAC secret with the gateway |
| ZENHIRE_CONTROLPLANE_HOST | 127.0.0.1 | where `zenhire controlplane serve` listens |
| ZENHIRE_CONTROLPLANE_PORT | 8700 | its port (1-65535) |
| ZENHIRE_GATEWAY_PUBLIC_URL | http://127.0.0.1:8800 | base of candidate links (``#t=<token>``) |
| ZENHIRE_GATEWAY_S2S_URL | the public URL | where the artifact proxy calls the gateway |
| ZENHIRE_TOKEN_TTL_SEC | 604800 (7 days) | lifetime of an unused candidate token |
| ZENHIRE_WEBHOOKS_ALLOW_PRIVATE | 0 | 1: webhooks may point at loopback/private addresses |
| ZENHIRE_WEBHOOK_TIMEOUT_SEC | 10 | one delivery attempt's time limit |
| ZENHIRE_WEBHOOK_BASE_DELAY_SEC | 5 | first retry delay (doubling, ±20 % jitter) |
| ZENHIRE_WEBHOOK_MAX_DELAY_SEC | 7200 | longest retry delay |
| ZENHIRE_WEBHOOK_MAX_AGE_SEC | 86400 | retries stop this long after the first attempt |
| ZENHIRE_WEBHOOK_MAX_ATTEMPTS | 40 | retries stop after this many attempts |
| ZENHIRE_WEBHOOK_SECRET_OVERLAP_SEC | 86400 | after a rotation, the old secret signs too |
| ZENHIRE_SWEEP_INTERVAL_SEC | 60 | how often expiry and retention are swept |
| ZENHIRE_BODY_TIMEOUT_SEC | 10 | a request body must arrive within this long (408) |

The retry schedule also paces the gateway deletions of erased artifacts.

An invalid value raises `ConfigError` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from controlplane.errors import ConfigError
from controlplane.webhooks.retry import (
    DEFAULT_BASE_DELAY_SEC,
    DEFAULT_MAX_AGE_SEC,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_DELAY_SEC,
    RetryPolicy,
)
from zenhire.bodies import DEFAULT_TIMEOUT_SEC as DEFAULT_BODY_TIMEOUT_SEC
from zenhire.environment import Environment, SettingError
from zenhire.s2s_secret import DEV_S2S_SECRET, read_s2s_secrets

DATABASE_FILE = "controlplane.sqlite3"
DEFAULT_GATEWAY_URL = "http://127.0.0.1:8800"
DEFAULT_PORT = 8700
MAX_PORT = 65_535
SEVEN_DAYS_SEC = 7 * 24 * 3600
ONE_DAY_SEC = 24 * 3600
DEFAULT_WEBHOOK_TIMEOUT_SEC = 10.0
DEFAULT_SWEEP_INTERVAL_SEC = 60.0


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    s2s_secrets: tuple[str, ...] = field(default=(DEV_S2S_SECRET,), repr=False)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    gateway_public_url: str = DEFAULT_GATEWAY_URL
    gateway_s2s_url: str = DEFAULT_GATEWAY_URL
    token_ttl_sec: int = SEVEN_DAYS_SEC
    webhooks_allow_private: bool = False
    webhook_timeout_sec: float = DEFAULT_WEBHOOK_TIMEOUT_SEC
    webhook_retry: RetryPolicy = field(default_factory=RetryPolicy)
    webhook_secret_overlap_sec: float = ONE_DAY_SEC
    sweep_interval_sec: float = DEFAULT_SWEEP_INTERVAL_SEC
    body_timeout_sec: float = DEFAULT_BODY_TIMEOUT_SEC

    @property
    def s2s_secret(self) -> str:
        """The current S2S secret (`s2s_secrets` also holds those still accepted)."""
        return self.s2s_secrets[0]

    @property
    def database_path(self) -> Path:
        return self.data_dir / DATABASE_FILE

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read every setting; raise `ConfigError` naming the first bad key."""
        env = Environment(environ)
        try:
            public_url = env.url("ZENHIRE_GATEWAY_PUBLIC_URL", DEFAULT_GATEWAY_URL)
            port = env.integer("ZENHIRE_CONTROLPLANE_PORT", DEFAULT_PORT, minimum=1)
            if port > MAX_PORT:
                raise SettingError(f"ZENHIRE_CONTROLPLANE_PORT must be at most {MAX_PORT}")
            host = env.text("ZENHIRE_CONTROLPLANE_HOST", "127.0.0.1")
            return cls(
                data_dir=Path(env.text("ZENHIRE_DATA_DIR", "data")),
                s2s_secrets=read_s2s_secrets(env, host),
                host=host,
                port=port,
                gateway_public_url=public_url,
                gateway_s2s_url=env.url("ZENHIRE_GATEWAY_S2S_URL", public_url),
                token_ttl_sec=env.integer("ZENHIRE_TOKEN_TTL_SEC", SEVEN_DAYS_SEC, minimum=1),
                webhooks_allow_private=env.flag("ZENHIRE_WEBHOOKS_ALLOW_PRIVATE", False),
                webhook_timeout_sec=_positive(
                    env, "ZENHIRE_WEBHOOK_TIMEOUT_SEC", DEFAULT_WEBHOOK_TIMEOUT_SEC
                ),
                webhook_retry=_retry_policy(env),
                webhook_secret_overlap_sec=env.number(
                    "ZENHIRE_WEBHOOK_SECRET_OVERLAP_SEC", ONE_DAY_SEC
                ),
                sweep_interval_sec=_positive(
                    env, "ZENHIRE_SWEEP_INTERVAL_SEC", DEFAULT_SWEEP_INTERVAL_SEC
                ),
                body_timeout_sec=_positive(
                    env, "ZENHIRE_BODY_TIMEOUT_SEC", DEFAULT_BODY_TIMEOUT_SEC
                ),
            )
        except SettingError as exc:
            raise ConfigError(str(exc)) from exc


def _positive(env: Environment, key: str, default: float) -> float:
    value = env.number(key, default)
    if value <= 0:
        raise SettingError(f"{key} must be positive, got {value}")
    return value


def _retry_policy(env: Environment) -> RetryPolicy:
    base = _positive(env, "ZENHIRE_WEBHOOK_BASE_DELAY_SEC", DEFAULT_BASE_DELAY_SEC)
    longest = _positive(env, "ZENHIRE_WEBHOOK_MAX_DELAY_SEC", DEFAULT_MAX_DELAY_SEC)
    if longest < base:
        raise SettingError(
            "ZENHIRE_WEBHOOK_MAX_DELAY_SEC must be at least ZENHIRE_WEBHOOK_BASE_DELAY_SEC"
        )
    return RetryPolicy(
        base_delay_sec=base,
        max_delay_sec=longest,
        max_age_sec=_positive(env, "ZENHIRE_WEBHOOK_MAX_AGE_SEC", DEFAULT_MAX_AGE_SEC),
        max_attempts=env.integer("ZENHIRE_WEBHOOK_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, minimum=1),
    )

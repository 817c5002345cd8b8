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

An invalid value raises `ConfigError` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from controlplane.errors import ConfigError
from zenhire.environment import Environment, SettingError

DATABASE_FILE = "controlplane.sqlite3"
DEV_S2S_SECRET = "zenhire-dev-s2s-secret"
DEFAULT_GATEWAY_URL = "http://127.0.0.1:8800"
DEFAULT_PORT = 8700
MAX_PORT = 65_535
SEVEN_DAYS_SEC = 7 * 24 * 3600


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    s2s_secret: str = DEV_S2S_SECRET
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    gateway_public_url: str = DEFAULT_GATEWAY_URL
    gateway_s2s_url: str = DEFAULT_GATEWAY_URL
    token_ttl_sec: int = SEVEN_DAYS_SEC

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
            return cls(
                data_dir=Path(env.text("ZENHIRE_DATA_DIR", "data")),
                s2s_secret=env.text("ZENHIRE_S2S_SECRET", DEV_S2S_SECRET),
                host=env.text("ZENHIRE_CONTROLPLANE_HOST", "127.0.0.1"),
                port=port,
                gateway_public_url=public_url,
                gateway_s2s_url=env.url("ZENHIRE_GATEWAY_S2S_URL", public_url),
                token_ttl_sec=env.integer("ZENHIRE_TOKEN_TTL_SEC", SEVEN_DAYS_SEC, minimum=1),
            )
        except SettingError as exc:
            raise ConfigError(str(exc)) from exc

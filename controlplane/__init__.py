"""The reference control plane: the integrator API and its S2S side, on SQLite.

`create_app` builds the server, `Settings.from_env` reads its configuration,
`create_client` provisions an integrator and its API key.
"""

from controlplane.admin import create_client
from controlplane.app import create_app
from controlplane.settings import Settings

__all__ = ["Settings", "create_app", "create_client"]

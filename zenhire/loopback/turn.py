"""A real TURN server (Debian's coturn) on a free loopback port, for tests.

It checks TURN REST credentials (``use-auth-secret`` with the given
``static-auth-secret``), relays on 127.0.0.1 only and lets relays reach
loopback peers (a gateway on 127.0.0.1), with TLS, DTLS and its CLI off.
`TurnServer.allocated_for` reads its log, where each allocation granted shows
with its username.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from zenhire.loopback.servers import free_port

STARTUP_TIMEOUT_SEC = 10.0
STOP_TIMEOUT_SEC = 10.0
POLL_SEC = 0.05
REALM = "zenhire.test"
# coturn logs this line, with the username, once per allocation it grants.
ALLOCATION_LINE = re.compile(r"user <([^>]*)>: incoming packet ALLOCATE processed, success")


@dataclass(frozen=True)
class TurnServer:
    url: str
    host: str
    port: int
    log: Path

    def allocated_for(self) -> list[str]:
        """The username of every allocation coturn has granted so far, in order."""
        return ALLOCATION_LINE.findall(self.log.read_text(errors="replace"))


@contextmanager
def turn_server(folder: Path, secret: str) -> Iterator[TurnServer]:
    """Run turnserver until the block exits; yield where it listens."""
    binary = shutil.which("turnserver")
    assert binary, "turnserver is missing: run scripts/install --test (Debian package coturn)"
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "turnserver.log"
    process = subprocess.Popen(
        [
            binary,
            "-n",  # no configuration file: everything is on this command line
            "--listening-ip", "127.0.0.1",
            "--listening-port", str(port),
            "--relay-ip", "127.0.0.1",
            "--use-auth-secret",
            "--static-auth-secret", secret,
            "--realm", REALM,
            "--allow-loopback-peers",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--userdb", str(folder / "turndb"),
            "--pidfile", str(folder / "turnserver.pid"),
            "--log-file", str(log),
            "--simple-log",
            "--no-stdout-log",
            "--verbose",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_until_up(port, process)
        yield TurnServer(f"turn:127.0.0.1:{port}", "127.0.0.1", port, log)
    finally:
        process.terminate()
        process.wait(timeout=STOP_TIMEOUT_SEC)


def _wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    """coturn listens on TCP beside UDP on its port: a TCP accept means it serves."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SEC
    while True:
        assert process.poll() is None, "turnserver exited during start-up"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=POLL_SEC):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL_SEC)

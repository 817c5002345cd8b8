"""Child processes with pipes that are closed, and reaped, however their task ends.

With `asyncio.create_subprocess_exec` (Python 3.11), `Process.wait` returns
only once the child has exited *and* every pipe has seen EOF, and the
transport closes only then. A reader that stopped reading (a synthesizer
whose consumer waits for playout room, then is cancelled) leaves its stdout
transport paused, so EOF is never seen: after a kill, ``wait`` never
returns (a shutdown hangs on it) and the transport, left open, warns when
collected. `Child.stop` closes the pipes itself before it waits, bounds the
wait, and closes the transport in any case; `Child.close` does the closing
alone, synchronously, for paths that cannot await.
"""

from __future__ import annotations

import asyncio
import contextlib
from asyncio.subprocess import Process, SubprocessStreamProtocol
from typing import IO

# asyncio's own default for a subprocess's StreamReader.
STREAM_LIMIT = 2**16
# A killed child is gone in milliseconds; past this something is wrong with
# the machine, and waiting longer would hold a shutdown hostage.
REAP_TIMEOUT_SEC = 5.0

Pipe = int | IO[bytes] | None
STANDARD_FDS = (0, 1, 2)


class Child:
    """One child process; ``process`` is the usual asyncio handle on it."""

    def __init__(self, process: Process, transport: asyncio.SubprocessTransport) -> None:
        self.process = process
        self._transport = transport

    @classmethod
    async def spawn(
        cls,
        *argv: str,
        stdin: Pipe = asyncio.subprocess.PIPE,
        stdout: Pipe = asyncio.subprocess.PIPE,
        stderr: Pipe = None,
    ) -> Child:
        """Start ``argv``; raises OSError (as `create_subprocess_exec`) if it cannot run."""
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.subprocess_exec(
            lambda: SubprocessStreamProtocol(STREAM_LIMIT, loop),
            *argv,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
        )
        return cls(Process(transport, protocol, loop), transport)

    def close(self) -> None:
        """Kill the child if it runs and close every pipe, now. Idempotent; never waits."""
        self._transport.close()

    async def stop(self, timeout_sec: float = REAP_TIMEOUT_SEC) -> None:
        """Kill the child, close its pipes, wait (at most ``timeout_sec``) until it is
        reaped, then `close`. The transport is closed even if this is cancelled."""
        try:
            if self.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self._transport.kill()
            for fd in STANDARD_FDS:
                pipe = self._transport.get_pipe_transport(fd)
                if pipe is not None:
                    pipe.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_sec):
                    await self.process.wait()
        finally:
            # Once the exit is known, closing does not race the child watcher
            # to reap the process.
            self.close()

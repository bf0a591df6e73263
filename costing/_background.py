"""A pure computation on data this process already holds, run in a forked child process on the
machine's other core while the caller goes on; its text result comes back through a pipe.

Used by the close for work that depends on its inputs alone (their canonical JSON).  Linux only,
where fork is cheap and the child shares the parent's memory copy-on-write, so nothing is pickled
on the way in.  The child touches no file, lock or connection of the parent's, writes to the pipe
only and leaves with ``os._exit``.  Elsewhere, or when anything goes wrong (fork refused, the child
failed or was killed), ``result()`` computes the value here instead: the result is the same either
way, only the time differs.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Callable

__all__ = ["Background"]


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork") and (os.cpu_count() or 1) > 1


class Background:
    """``Background(fn, *args)`` starts ``fn(*args)`` (which returns a str) in a child process;
    ``result()`` waits for it; ``cancel()`` stops it when the result is no longer wanted."""

    def __init__(self, fn: Callable[..., str], *args, enabled: bool = True):
        self._fn, self._args = fn, args
        self._pid: int | None = None
        self._fd = -1
        if not (enabled and _can_fork()):
            return
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: compute, write, leave without running the parent's cleanups
            code = 1
            try:
                os.close(read)
                view = memoryview(fn(*args).encode())
                while view:
                    view = view[os.write(write, view):]
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._fd = pid, read

    def result(self) -> str:
        if self._pid is not None:
            with os.fdopen(self._fd, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(self._pid, 0)
            self._pid = None
            if os.waitstatus_to_exitcode(status) == 0:
                return data.decode()
        return self._fn(*self._args)

    def cancel(self) -> None:
        if self._pid is None:
            return
        try:
            os.kill(self._pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(self._fd)
        os.waitpid(self._pid, 0)
        self._pid = None

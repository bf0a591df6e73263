"""A pure computation on data this process already holds, run in a forked child process on the
machine's other core while the caller goes on; its result (text or bytes) comes back through a pipe.

Used by the close for work that depends on its inputs alone (their canonical JSON).  Linux only,
where fork is cheap and the child shares the parent's memory copy-on-write, so nothing is pickled
on the way in; and only while this process runs a single thread (``_can_fork`` says why).  The child touches no file, lock or connection of the parent's, writes to the pipe
only and leaves with ``os._exit``.  Elsewhere, or when anything goes wrong (fork refused, the child
failed or was killed), ``result()`` computes the value here instead: the result is the same either
way, only the time differs.
"""

from __future__ import annotations

import os
import signal
import struct
import sys
import threading
from typing import Callable, Iterator

__all__ = ["Background", "Stream", "BackgroundFailed", "can_stream"]


def _can_fork() -> bool:
    # Only from a single-threaded process: a child forked while another thread holds a lock (the
    # allocator's, the import lock, a logging handler's) would wait for it forever.  A host that
    # runs the close next to its own threads (a server, an add-in) gets the one-process close.
    return (sys.platform.startswith("linux") and hasattr(os, "fork") and (os.cpu_count() or 1) > 1
            and threading.active_count() == 1)


class Background:
    """``Background(fn, *args)`` starts ``fn(*args)`` (which returns str or bytes) in a child process;
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
                value = fn(*args)
                _write_all(write, b"s" + value.encode() if isinstance(value, str) else b"b" + bytes(value))
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._fd = pid, read

    def result(self) -> str | bytes:
        if self._pid is not None:
            # The pipe is closed by the ``with`` however the read ends (Ctrl-C too): not again by cancel().
            fd, self._fd = self._fd, None
            with os.fdopen(fd, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(self._pid, 0)
            self._pid = None
            if os.waitstatus_to_exitcode(status) == 0 and data[:1] in (b"s", b"b"):
                return data[1:].decode() if data[:1] == b"s" else data[1:]
        return self._fn(*self._args)

    def cancel(self) -> None:
        if self._pid is not None:
            fd = self._fd
            _stop(self._pid, lambda: None if fd is None else os.close(fd))
            self._pid = None


class BackgroundFailed(Exception):
    """The child process ended before it had sent everything (it failed, or was killed)."""


_END = (1 << 64) - 1


class Stream:
    """``Stream(fn, *args)``: ``fn(*args)`` is a generator of str messages run in a forked child;
    ``read()`` gives them here in order (None after the last) and raises ``BackgroundFailed`` if the
    child ended early.  Only where ``can_stream()``; the caller has its own way without it."""

    def __init__(self, fn: Callable[..., Iterator[str]], *args):
        read, write = os.pipe()
        _widen(write)
        pid = os.fork()
        if pid == 0:  # the child: send each message length-prefixed, then the end mark
            code = 1
            try:
                os.close(read)
                for message in fn(*args):
                    data = message.encode()
                    _write_all(write, struct.pack(">Q", len(data)) + data)
                _write_all(write, struct.pack(">Q", _END))
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self._pid: int | None = pid
        self._pipe = os.fdopen(read, "rb")

    def read(self) -> str | None:
        head = self._pipe.read(8)
        if len(head) < 8:
            raise BackgroundFailed("the child process ended early")
        (size,) = struct.unpack(">Q", head)
        if size == _END:
            return None
        data = self._pipe.read(size)
        if len(data) < size:
            raise BackgroundFailed("the child process ended early")
        return data.decode()

    def close(self) -> None:
        """Stop the child if it still runs, and reap it."""
        if self._pid is not None:
            _stop(self._pid, self._pipe.close)
            self._pid = None


def _stop(pid: int, close_pipe: Callable[[], None]) -> None:
    """Kill a child that may still run, close our end of its pipe, and reap it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    close_pipe()
    os.waitpid(pid, 0)


def can_stream() -> bool:
    return _can_fork()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _widen(fd: int) -> None:
    """A 1 MB pipe (Linux's default is 64 kB) so that the child seldom waits for the reader."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (OSError, ImportError):
        pass

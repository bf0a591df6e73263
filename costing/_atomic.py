"""Replacing a file so that readers see the old bytes or the new, never half of either."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock (a file another process holds open cannot be removed there)
    fcntl = None

CAN_FLOCK = fcntl is not None

__all__ = ["replace_atomically", "is_read_only", "refuse_read_only", "open_lock", "flock_within", "CAN_FLOCK"]

_ANY_WRITE = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def is_read_only(path: Path) -> bool:
    """The file may not be written by us, or was marked read-only for everyone.

    The mode bits are checked as well as ``os.access``: root may write any file, but a file whose
    mode has no write bit for anyone (``chmod 444``, Windows' Read-only attribute) was made
    read-only on purpose and is treated so by every user.
    """
    path = Path(path)
    return not os.access(path, os.W_OK) or not path.stat().st_mode & _ANY_WRITE


def refuse_read_only(path: Path) -> None:
    """Raise PermissionError if ``path`` exists and is read-only (see ``is_read_only``)."""
    path = Path(path)
    if path.exists() and is_read_only(path):
        raise PermissionError(errno.EACCES, "the file is read-only", str(path))


def replace_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename it over
    ``path`` (keeping ``path``'s permissions, or the umask's for a new file).

    A read-only ``path`` is refused (PermissionError) as a plain open() for writing would refuse
    it: the rename itself needs only the directory's write permission and would replace it.
    """
    path = Path(path)
    refuse_read_only(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:  # as a plain open() would have created it
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _private_lock_folder() -> Path | None:
    """This user's own lock folder, /tmp/wip-locks-<uid> (mode 700, the user's, not a symlink):
    nothing another user plants there can be opened, chmodded or held in its place.  The same folder
    whatever TMPDIR says, so every process of the user finds the same locks.  None where it cannot
    be had so (Windows; a folder of that name that is not the user's own)."""
    if not hasattr(os, "geteuid"):
        return None
    folder = Path("/tmp") / f"wip-locks-{os.geteuid()}"
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        found = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.geteuid() or found.st_mode & 0o077:
        return None
    return folder


def open_lock(kind: str, path: str | Path) -> int | None:
    """A descriptor of the lock file for ``path`` (to flock), in this user's private lock folder,
    named by the path's resolved form (a symlink to it, a relative path: one lock), whether or not
    ``path`` exists yet.  None when it cannot be had.  One user's: processes of
    another user, of another machine (a network share) or in another /tmp (a service's private one)
    do not see it — nor can they hold it, or plant a file in its place."""
    folder = _private_lock_folder()
    if folder is None:
        return None
    try:
        where = str(Path(path).resolve())
    except (OSError, RuntimeError):  # a symlink loop: the path as given, made absolute
        where = os.path.abspath(path)
    key = hashlib.sha256(where.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    flags = os.O_RDONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(folder / f"{kind}-{key}.lock", flags, 0o600)
    except OSError:
        return None


def flock_within(fd: int, exclusive: bool, timeout: float) -> bool | None:
    """Take a flock on ``fd`` (a lock file's or a folder's), waiting at most ``timeout`` seconds (0:
    not at all): True once held, False when another still holds it then, None where there is no
    flock (Windows, or a file system without it)."""
    if fcntl is None:
        return None
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        except OSError:
            return None

"""Replacing a file so that readers see the old bytes or the new, never half of either."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["replace_atomically", "is_read_only", "refuse_read_only"]

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


"""Atomic file writes: a crash at any point leaves either the old file or the new one.

The bytes go to a temporary file in the destination folder, which is flushed, fsync'ed and
moved over the destination with ``os.replace``; then the folder is fsync'ed (a stale
``.*.tmp`` file may remain after a hard kill).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile

__all__ = ["atomic_write", "check_destination"]

PathLike = str | os.PathLike[str]

_UMASK: int | None = None


def _default_mode() -> int:
    """``0o666`` minus the process umask (what ``open(path, "w")`` would create)."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


def check_destination(path: PathLike) -> str:
    """Raise ``FileNotFoundError`` when ``path``'s folder does not exist and
    ``IsADirectoryError`` when ``path`` is a folder; return the folder.  :func:`atomic_write`
    checks this, and the CLI before any work, so that a long run does not fail at its end."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            errno.ENOENT, f"cannot write {path}: folder {folder} does not exist"
        )
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"cannot write {path}: it is a folder")
    return folder


def atomic_write(path: PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, flush, fsync,
    ``os.replace``, fsync the folder.

    Parameters
    ----------
    path : str or path-like
        Destination; its folder must exist.  An existing file keeps its permission bits.
    data : bytes or str
        Contents (``str`` is encoded as UTF-8).

    Raises
    ------
    FileNotFoundError
        The destination folder does not exist.
    IsADirectoryError
        ``path`` is a folder.
    OSError
        Any other write failure; the destination is then unchanged and the temp file removed.
    """
    path = os.fspath(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    folder = check_destination(path)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = _default_mode()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

"""The file-system calls storage makes, behind one small interface, so a test can make them fail.

Storage writes only through a ``FileSystem``: segment appends (``pwrite``), index and metadata-log
appends (``write``), ``fsync``, the cut-back after a failed write (``ftruncate``) and atomic
replacements (``atomic_write``: write a temporary file, fsync, ``replace``). Reads stay on ``os``:
nothing needs to fail them yet. Each broker is given its own instance (``BrokerState(fs=...)``),
so an in-process broker in a test can run on a ``FaultyFS`` while another one in the same
process writes to a real disk.

``FaultyFS`` is kfake's memFS idea (failNextWrite / failNextSync) over a real directory: it
passes calls through to ``os`` until told to fail the next N writes or syncs, or to behave as a
full disk until ``free()`` is called, optionally only for paths under a prefix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

StrPath = str | os.PathLike[str]


class FileSystem(Protocol):
    """What storage asks of the disk when it changes it."""

    def open(self, path: StrPath, flags: int, mode: int = 0o644) -> int: ...
    def pwrite(self, fd: int, data: bytes | bytearray | memoryview, offset: int) -> int: ...
    def write(self, fd: int, data: bytes | bytearray | memoryview) -> int: ...
    def fsync(self, fd: int) -> None: ...
    def ftruncate(self, fd: int, length: int) -> None: ...
    def close(self, fd: int) -> None: ...
    def replace(self, src: StrPath, dst: StrPath) -> None: ...
    def unlink(self, path: StrPath) -> None: ...


class RealFS:
    """The operating system's calls, bound directly so the hot path costs no extra Python frame."""

    def __init__(self) -> None:
        self.open = os.open
        self.pwrite = os.pwrite
        self.write = os.write
        self.fsync = os.fsync
        self.ftruncate = os.ftruncate
        self.close = os.close
        self.replace = os.replace
        self.unlink = os.unlink


#: The default for code that is given no file system (tools, unit tests of one class).
REAL_FS: FileSystem = RealFS()


def write_all(fs: FileSystem, fd: int, data: bytes | bytearray | memoryview, offset: int | None = None) -> None:
    """Write every byte of ``data`` (at ``offset`` with pwrite, else at the file position)."""
    view = memoryview(data)
    done = 0
    while done < len(view):
        if offset is None:
            done += fs.write(fd, view[done:])
        else:
            done += fs.pwrite(fd, view[done:], offset + done)


def atomic_write(path: Path, data: bytes, fs: FileSystem = REAL_FS, private: bool = False) -> None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file.

    A failed write (a full disk) removes the temporary file, so it holds no space, and leaves
    ``path`` as it was. ``private``: mode 0600 (the file may hold passwords), set on the
    temporary file before anything is written to it, even one left over by a crash.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = fs.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        try:
            if private:
                os.fchmod(fd, 0o600)
            write_all(fs, fd, data)
            fs.fsync(fd)
        finally:
            fs.close(fd)
        fs.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            fs.unlink(tmp)
        raise


class _Rule:
    """Fail ``remaining`` calls (or every call while ``remaining`` is None) under ``prefix``."""

    def __init__(self, err: int, remaining: int | None, prefix: str | None, partial: int) -> None:
        self.err = err
        self.remaining = remaining
        self.prefix = prefix
        self.partial = partial

    def applies(self, path: str) -> bool:
        return self.prefix is None or path.startswith(self.prefix)


class FaultyFS:
    """A real directory whose writes and syncs fail on demand (tests only).

    - ``fail_next_writes(n, err)``: the next ``n`` data writes raise ``err`` (ENOSPC by default);
      ``partial`` bytes of each are written first, as a disk that fills mid-write does.
    - ``fail_next_syncs(n, err)``: the next ``n`` fsyncs raise ``err`` (EIO by default).
    - ``fill()`` / ``free()``: every data write raises ENOSPC until ``free()``; truncating,
      unlinking and renaming keep working, as they do on a full disk.
    Each takes ``prefix``: only paths starting with it fail. Counters say what was refused.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # fsync runs in worker threads
        self._paths: dict[int, str] = {}
        self._writes: list[_Rule] = []
        self._syncs: list[_Rule] = []
        self.refused_writes = 0
        self.refused_syncs = 0

    # ---- control --------------------------------------------------------------------------

    def fail_next_writes(
        self, n: int = 1, err: int = errno.ENOSPC, prefix: StrPath | None = None, partial: int = 0
    ) -> None:
        with self._lock:
            self._writes.append(_Rule(err, n, None if prefix is None else str(prefix), partial))

    def fail_next_syncs(self, n: int = 1, err: int = errno.EIO, prefix: StrPath | None = None) -> None:
        with self._lock:
            self._syncs.append(_Rule(err, n, None if prefix is None else str(prefix), 0))

    def fill(self, prefix: StrPath | None = None, partial: int = 0) -> None:
        """Behave as a full disk (for paths under ``prefix``) until ``free()``."""
        with self._lock:
            self._writes.append(_Rule(errno.ENOSPC, None, None if prefix is None else str(prefix), partial))

    def free(self) -> None:
        """Forget every pending write and sync failure."""
        with self._lock:
            self._writes.clear()
            self._syncs.clear()

    @property
    def full(self) -> bool:
        with self._lock:
            return any(rule.remaining is None for rule in self._writes)

    # ---- the FileSystem calls ---------------------------------------------------------------

    def _path_of(self, fd: int) -> str:
        """The path ``fd`` was opened with here, else what the kernel says (files opened by a cache)."""
        path = self._paths.get(fd)
        if path is None:
            try:
                path = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                path = ""
        return path

    def _failing(self, rules: list[_Rule], fd: int) -> _Rule | None:
        with self._lock:
            path = self._path_of(fd)
            for rule in rules:
                if rule.applies(path):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            rules.remove(rule)
                    return rule
        return None

    def _refuse_write(self, fd: int, size: int) -> _Rule | None:
        if size == 0:
            return None
        rule = self._failing(self._writes, fd)
        if rule is not None:
            self.refused_writes += 1
        return rule

    def open(self, path: StrPath, flags: int, mode: int = 0o644) -> int:
        fd = os.open(path, flags, mode)
        with self._lock:
            self._paths[fd] = os.fspath(path)
        return fd

    def pwrite(self, fd: int, data: bytes | bytearray | memoryview, offset: int) -> int:
        rule = self._refuse_write(fd, len(data))
        if rule is not None:
            if rule.partial:
                os.pwrite(fd, memoryview(data)[: min(rule.partial, len(data) - 1)], offset)
            raise OSError(rule.err, os.strerror(rule.err))
        return os.pwrite(fd, data, offset)

    def write(self, fd: int, data: bytes | bytearray | memoryview) -> int:
        rule = self._refuse_write(fd, len(data))
        if rule is not None:
            if rule.partial:
                os.write(fd, memoryview(data)[: min(rule.partial, len(data) - 1)])
            raise OSError(rule.err, os.strerror(rule.err))
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        rule = self._failing(self._syncs, fd)
        if rule is not None:
            self.refused_syncs += 1
            raise OSError(rule.err, os.strerror(rule.err))
        os.fsync(fd)

    def ftruncate(self, fd: int, length: int) -> None:
        os.ftruncate(fd, length)

    def close(self, fd: int) -> None:
        with self._lock:
            self._paths.pop(fd, None)
        os.close(fd)

    def replace(self, src: StrPath, dst: StrPath) -> None:
        os.replace(src, dst)

    def unlink(self, path: StrPath) -> None:
        os.unlink(path)


class _RealPathFaultyFS(FaultyFS):
    """A FaultyFS that remembers files by their real path, so a prefix matches however storage
    spelled the path (a relative data dir) and whatever the kernel reports for older files."""

    def open(self, path: StrPath, flags: int, mode: int = 0o644) -> int:
        fd = os.open(path, flags, mode)
        with self._lock:
            self._paths[fd] = os.path.realpath(path)
        return fd

    def forget_paths(self) -> None:
        with self._lock:
            self._paths.clear()


#: The calls a FileSystem makes, as SwitchableFS rebinds them.
_CALLS = ("open", "pwrite", "write", "fsync", "ftruncate", "close", "replace", "unlink")


class SwitchableFS:
    """The real disk, until faults are engaged: then every call goes through ``faulty``.

    The broker's default file system, so storage faults can be set on a running broker
    (``FaultRegistry.disk_full``). While released its attributes are the ``os`` functions
    themselves, as ``RealFS``'s are, so the hot path pays nothing for the seam; engaging
    rebinds them to the FaultyFS methods (storage looks the function up at each call).
    """

    open: Callable[..., int]
    pwrite: Callable[..., int]
    write: Callable[..., int]
    fsync: Callable[[int], None]
    ftruncate: Callable[[int, int], None]
    close: Callable[[int], None]
    replace: Callable[..., None]
    unlink: Callable[..., None]

    def __init__(self) -> None:
        self.faulty = _RealPathFaultyFS()
        self.engaged = False
        self.release()

    def engage(self) -> None:
        """Route every call through ``faulty`` (its rules decide what fails)."""
        self._bind(self.faulty)
        self.engaged = True

    def release(self) -> None:
        """Back to the ``os`` calls, every failure rule forgotten."""
        self.faulty.free()
        self._bind(os)
        self.faulty.forget_paths()  # descriptors opened while engaged may be closed by os.close now
        self.engaged = False

    def _bind(self, source: object) -> None:
        """Make each FileSystem call ``source``'s own function (``os`` or the FaultyFS)."""
        for name in _CALLS:
            setattr(self, name, getattr(source, name))

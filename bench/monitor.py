"""Background sampling of a broker's resident memory (whole process tree)."""

from __future__ import annotations

import contextlib
import threading

import psutil

from config import RSS_SAMPLE_INTERVAL_S


def tree_rss(pid: int) -> int:
    """Sum of RSS in bytes of ``pid`` and all its descendants (0 if gone)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its living descendants (0.0 if gone)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


class RssSampler:
    """Samples ``tree_rss(pid)`` every RSS_SAMPLE_INTERVAL_S in a daemon thread.

    Use as a context manager; ``peak`` holds the largest sample seen.
    """

    def __init__(self, pid: int, interval: float = RSS_SAMPLE_INTERVAL_S) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> int:
        """Take one sample now, update the peak and return it."""
        rss = tree_rss(self.pid)
        self.samples += 1
        self.peak = max(self.peak, rss)
        return rss

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sample()

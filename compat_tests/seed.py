"""Runs the source material's scripts unchanged except for the broker port."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

SCRIPTS = Path(__file__).parent / "seed_scripts"


class ScriptRun:
    """A seed script in a subprocess, its stdout collected line by line."""

    def __init__(self, name: str, port: int) -> None:
        source = (SCRIPTS / name).read_text().replace("localhost:9092", f"localhost:{port}")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", source], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.errors), daemon=True).start()

    @staticmethod
    def _pump(stream: object, sink: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            sink.append(line.rstrip("\n"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

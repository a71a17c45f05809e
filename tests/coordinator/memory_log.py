"""The coordinators' storage seam in memory, shared by the group and transaction coordinator tests."""

from __future__ import annotations

import json
from typing import Any


class MemoryLog:
    """The storage seam (``AppendOnlyLog``) in memory: the JSON lines written, and writes that fail on demand."""

    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []
        self.fail: OSError | None = None
        self.flushes = 0

    def append_batch(self, records: list[dict[str, Any]]) -> None:
        if self.fail is not None:
            raise self.fail
        self.docs.extend(json.loads(json.dumps(r)) for r in records)  # as a reload would read them

    def flush(self) -> None:
        self.flushes += 1

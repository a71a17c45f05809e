"""Producer id allocation, unique across restarts.

Ids are handed out from blocks whose end is persisted before the first id of the block is
used (as Kafka's controller does), so a crash can skip ids but never repeat one.
"""

from __future__ import annotations

from pathlib import Path

from kafkalite.storage.catalog import atomic_write

BLOCK_SIZE = 1000


class ProducerIdAllocator:
    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / "producer_id_block"
        start = int(self._path.read_text()) if self._path.exists() else 0
        self._next = start
        self._block_end = start

    def allocate(self) -> int:
        if self._next >= self._block_end:
            end = self._next + BLOCK_SIZE
            atomic_write(self._path, str(end).encode())  # an OSError leaves the block unused
            self._block_end = end
        pid = self._next
        self._next += 1
        return pid

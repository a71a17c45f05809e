"""Producer id blocks: an id is handed out only from a block whose end is saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkalite.broker.producer_ids import BLOCK_SIZE, ProducerIdAllocator
from kafkalite.storage.fs import FaultyFS


def test_a_block_that_cannot_be_saved_hands_out_no_id(tmp_path: Path) -> None:
    fs = FaultyFS()
    allocator = ProducerIdAllocator(tmp_path, fs)
    fs.fill()  # a full disk
    with pytest.raises(OSError):
        allocator.allocate()
    with pytest.raises(OSError):
        allocator.allocate()  # still no saved block: still no id
    fs.free()
    assert allocator.allocate() == 0
    assert (tmp_path / "producer_id_block").read_text() == str(BLOCK_SIZE)
    assert ProducerIdAllocator(tmp_path).allocate() == BLOCK_SIZE  # a restart never repeats an id

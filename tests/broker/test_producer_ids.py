"""Producer id blocks: an id is handed out only from a block whose end is saved."""

from __future__ import annotations

from pathlib import Path

import pytest

import kafkalite.broker.producer_ids as producer_ids
from kafkalite.broker.producer_ids import BLOCK_SIZE, ProducerIdAllocator


def test_a_block_that_cannot_be_saved_hands_out_no_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    allocator = ProducerIdAllocator(tmp_path)

    def full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    saved = producer_ids.atomic_write
    monkeypatch.setattr(producer_ids, "atomic_write", full)
    with pytest.raises(OSError):
        allocator.allocate()
    with pytest.raises(OSError):
        allocator.allocate()  # still no saved block: still no id
    monkeypatch.setattr(producer_ids, "atomic_write", saved)
    assert allocator.allocate() == 0
    assert (tmp_path / "producer_id_block").read_text() == str(BLOCK_SIZE)
    assert ProducerIdAllocator(tmp_path).allocate() == BLOCK_SIZE  # a restart never repeats an id

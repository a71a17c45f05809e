"""Broker settings from the ConfigDef table reach the part of the broker they govern."""

from __future__ import annotations

from pathlib import Path

from compat_tests.brokerproc import BrokerProcess
from kafkalite.conformance.wire import Connection
from kafkalite.errors import ErrorCode


def _init_producer_id(conn: Connection, txn_id: str, timeout_ms: int) -> int:
    conn.send("InitProducerId", 4, {"transactional_id": txn_id, "transaction_timeout_ms": timeout_ms,
                                    "producer_id": -1, "producer_epoch": -1})
    answer = conn.receive(wait=15)
    assert isinstance(answer, dict), answer
    return int(answer["error_code"])


def test_transaction_max_timeout_ms_override_bounds_init_producer_id(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path / "data", extra_args=["--override", "transaction.max.timeout.ms=5000"])
    broker.start()
    try:
        conn = Connection(broker.bootstrap)
        try:
            assert _init_producer_id(conn, "too-long", 5001) == ErrorCode.INVALID_TRANSACTION_TIMEOUT
            assert _init_producer_id(conn, "just-right", 5000) == ErrorCode.NONE
        finally:
            conn.close()
    finally:
        assert broker.stop() == 0

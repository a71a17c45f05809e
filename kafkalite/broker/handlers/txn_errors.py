"""Kafka's rules for transaction errors that older request versions cannot express.

PRODUCER_FENCED came with KIP-588; TRANSACTION_ABORTABLE with KIP-890 (Produce v11,
TxnOffsetCommit v4, AddPartitionsToTxn v4): older clients get the error they know instead.
"""

from __future__ import annotations

from kafkalite.errors import ErrorCode


def fenced_for_version(code: int, version: int, first_version_with_fenced: int) -> int:
    """Older clients do not know PRODUCER_FENCED and get INVALID_PRODUCER_EPOCH instead."""
    if code == ErrorCode.PRODUCER_FENCED and version < first_version_with_fenced:
        return int(ErrorCode.INVALID_PRODUCER_EPOCH)
    return code


def not_in_transaction(version: int, first_version_with_abortable: int) -> int:
    """A write to a partition (or group) the open transaction has not added: the producer must abort.

    Newer clients get TRANSACTION_ABORTABLE, older ones INVALID_TXN_STATE (as Kafka's verification).
    """
    if version >= first_version_with_abortable:
        return int(ErrorCode.TRANSACTION_ABORTABLE)
    return int(ErrorCode.INVALID_TXN_STATE)

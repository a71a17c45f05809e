"""Kafka's rule for PRODUCER_FENCED on old request versions (KIP-588)."""

from __future__ import annotations

from kafkalite.errors import ErrorCode


def fenced_for_version(code: int, version: int, first_version_with_fenced: int) -> int:
    """Older clients do not know PRODUCER_FENCED and get INVALID_PRODUCER_EPOCH instead."""
    if code == ErrorCode.PRODUCER_FENCED and version < first_version_with_fenced:
        return int(ErrorCode.INVALID_PRODUCER_EPOCH)
    return code

"""The fuzz tests' shared fixture: the broker's log, kept apart from pytest's capture."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.fuzz.harness import ErrorLog


@pytest.fixture
def broker_log() -> Iterator[ErrorLog]:
    """The broker's warnings and errors, kept out of pytest's own capture (one per fuzzed close)."""
    handler = ErrorLog()
    logger = logging.getLogger("kafkalite")
    handlers, propagate, level = logger.handlers[:], logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    yield handler
    logger.handlers, logger.propagate, logger.level = handlers, propagate, level

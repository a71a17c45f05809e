"""kafkalite: a Kafka broker in Python that speaks the real Kafka wire protocol.

``from kafkalite import Broker`` gives the embeddable broker (``kafkalite.embedded.Broker``). It
is imported on first use, so that ``import kafkalite`` stays cheap and type-checking one layer
(``mypy kafkalite/protocol``) does not pull in the whole broker.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["Broker", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Broker":
        return importlib.import_module("kafkalite.embedded").Broker
    raise AttributeError(f"module 'kafkalite' has no attribute {name!r}")

"""kafkalite: a Kafka broker in Python that speaks the real Kafka wire protocol.

``from kafkalite import Broker`` gives the embeddable broker (see ``kafkalite.embedded``); it is
imported on first use so that ``import kafkalite`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Broker", "__version__"]

if TYPE_CHECKING:
    from kafkalite.embedded import Broker


def __getattr__(name: str) -> Any:
    if name == "Broker":
        from kafkalite.embedded import Broker

        return Broker
    raise AttributeError(f"module 'kafkalite' has no attribute {name!r}")

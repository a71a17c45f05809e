"""Import a package's submodules without running the package's ``__init__`` until it is used.

Two dependencies make their ``__init__`` expensive for a broker that wants to be ready in a
fraction of a second: ``kafka`` imports the whole client (about 0.2 s) when only
``kafka.protocol`` is needed, and ``crc32c`` asks ``importlib.metadata`` for its own version
(about 20 ms) when only its C function is needed. The package module is created from its
spec but left unexecuted; the first attribute looked up on it (``from kafka import
KafkaProducer`` in an application sharing the process) runs the real ``__init__`` then, so
code in the same process that uses the package normally still works unchanged.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any


def defer_package_init(name: str) -> None:
    """Register ``name`` as a package whose ``__init__`` runs on first attribute access."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def initialise_on_first_use(attribute: str) -> Any:
        del package.__dict__["__getattr__"]
        loader.exec_module(package)
        if attribute in package.__dict__:
            return package.__dict__[attribute]
        return getattr(package, attribute)

    package.__dict__["__getattr__"] = initialise_on_first_use
    sys.modules[name] = package

"""CRC-32C, the checksum of record batches (and of kafkalite's own metadata log lines).

The ``crc32c`` package's C function is used directly (the pure-Python fallbacks are thousands
of times slower), without running the package's ``__init__``, which spends ~20 ms of broker
startup looking up its own version.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from kafkalite.lazy_packages import defer_package_init

defer_package_init("crc32c")
# import_module, not "from crc32c import _crc32c": a from-import looks the name up on the
# package first, which would run its __init__ after all.
crc32c: Callable[[bytes | bytearray | memoryview], int] = importlib.import_module("crc32c._crc32c").crc32c

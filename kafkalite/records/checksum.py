"""CRC-32C, the checksum of record batches (and of kafkalite's own metadata log lines).

The ``crc32c`` package's C function is used directly (the pure-Python fallbacks are thousands
of times slower), without running the package's ``__init__``, which spends ~20 ms of broker
startup looking up its own version.
"""

from __future__ import annotations

from collections.abc import Callable

from kafkalite.lazy_packages import defer_package_init

defer_package_init("crc32c")
from crc32c import _crc32c  # noqa: E402  (after the deferral above)

crc32c: Callable[[bytes | bytearray | memoryview], int] = _crc32c.crc32c

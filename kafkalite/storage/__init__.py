"""The log engine: segments, sparse indexes, recovery. Knows batch bytes, never requests."""

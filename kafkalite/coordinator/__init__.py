"""Group (and later transaction) coordinators as state machines: requests and now_ms in,
responses, timers and records to persist out. No asyncio and no I/O here."""

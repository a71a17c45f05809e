"""Kafka wire protocol without I/O: framing, headers and the schema-driven body codec."""

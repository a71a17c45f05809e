"""Everyday command-line tools (``kafkalite topics|produce|consume|groups``).

They are ordinary Kafka clients built on confluent-kafka (librdkafka), so they work against
any Kafka-compatible broker, not only kafkalite. They never import the broker's own modules.
"""

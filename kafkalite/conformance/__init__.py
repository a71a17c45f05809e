"""Conformance with Apache Kafka: the reference broker, the scenario corpus and its runner.

``reference`` runs Apache Kafka itself (resolved from Maven Central) beside kafkalite;
``scenarios/`` holds request sequences as data and ``transcripts/`` Kafka's recorded answers;
the runner sends a scenario to any broker and compares its answers with Kafka's.
"""

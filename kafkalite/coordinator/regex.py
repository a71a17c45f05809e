"""Regex subscriptions in RE2/J syntax, as Kafka's coordinator compiles them."""

from __future__ import annotations


class InvalidRegex(ValueError):
    """A pattern RE2/J rejects; ``message`` is what Kafka answers with INVALID_REGULAR_EXPRESSION."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TopicRegex:
    """A compiled subscription pattern; topics match on the whole name."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def fullmatch(self, name: str) -> bool:
        raise NotImplementedError


def compile_regex(pattern: str) -> TopicRegex:
    """Compile ``pattern`` as RE2/J would, or raise ``InvalidRegex`` with Kafka's message."""
    raise NotImplementedError

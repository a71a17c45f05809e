"""RE2/J syntax for regex subscriptions: what RE2 rejects that Python's re accepts, Kafka's message,
full-name matching. (The same answers as RE2/J itself: test_assignors_differential.py.)"""

from __future__ import annotations

import pytest

from kafkalite.coordinator.regex import InvalidRegex, compile_regex


@pytest.mark.parametrize(("pattern", "description"), [
    ("(", "missing closing )"),
    ("[a-", "missing closing ]"),
    ("a(?=b)", "invalid or unsupported Perl syntax"),  # look-ahead: fine for Python's re, not for RE2
    ("(?<=a)b", "invalid named capture"),  # RE2/J reads "(?<" as a group name
    ("(a)\\1", "invalid escape sequence"),  # backreference
    ("a++", "invalid nested repetition operator"),  # possessive
    ("*", "missing argument to repetition operator"),
    ("a{1001}", "invalid repeat count"),
    ("a\\", "trailing backslash at end of expression"),
    ("[z-a]", "invalid character class range"),
    ("\\C", "invalid escape sequence"),  # C++ RE2 accepts \\C, RE2/J does not
    ("(?P<n>a)(?P<n>b)", "duplicate capture group name"),  # likewise
    (")", "regexp/syntax: internal error"),  # RE2/J 1.8's answer
])
def test_rejected_with_kafkas_message(pattern: str, description: str) -> None:
    with pytest.raises(InvalidRegex) as err:
        compile_regex(pattern)
    assert err.value.message == f"SubscribedTopicRegex `{pattern}` is not a valid regular expression: {description}."


def test_full_name_match() -> None:
    regex = compile_regex("orders\\..*")
    assert regex.fullmatch("orders.eu") and not regex.fullmatch("xorders.eu") and not regex.fullmatch("orders")
    assert compile_regex("topic-[0-9]+").fullmatch("topic-12") and not compile_regex("topic").fullmatch("topic-1")
    assert compile_regex("(?i)ORDERS").fullmatch("orders")
    assert compile_regex("é+").fullmatch("éé")


def test_linear_time_on_a_pathological_pattern() -> None:
    """(a+)+$ backtracks exponentially in Python's re; RE2 answers at once."""
    assert not compile_regex("(a+)+b").fullmatch("a" * 5000)

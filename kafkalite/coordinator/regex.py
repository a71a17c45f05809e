"""Regex subscriptions (KIP-848 ``SubscribedTopicRegex``) in RE2/J syntax, as Kafka's coordinator
compiles them.

Kafka compiles the pattern with RE2/J (``com.google.re2j.Pattern``) and answers
INVALID_REGULAR_EXPRESSION with "SubscribedTopicRegex `<p>` is not a valid regular expression:
<description>." -- the description being RE2/J's (Go's ``regexp/syntax`` wording). Python's ``re``
is the wrong engine for this: it accepts look-around and backreferences, which RE2 rejects, and
backtracks. ``google-re2`` (the C++ RE2) has RE2/J's syntax and linear-time matching (``pyre2`` was
ruled out: it silently falls back to ``re`` for what RE2 rejects). What differs is bridged here and
checked against RE2/J itself (tests/coordinator/test_assignors_differential.py): the error wording
(translated below; RE2/J reads any ``(?<`` as a named group and calls a stray ``)`` an internal
error), and two constructs C++ RE2 accepts but RE2/J refuses: the ``\\C`` escape and a capture-group
name used twice. Matching agrees on everything a topic name can hold ([a-zA-Z0-9._-]).

Topics match on the whole name (RE2/J ``Pattern.matches``).
"""

from __future__ import annotations

import re

import re2

#: C++ RE2 error text (before its ": <fragment>") -> RE2/J's ``PatternSyntaxException.getDescription()``
_DESCRIPTIONS = {
    "missing )": "missing closing )",
    "missing ]": "missing closing ]",
    "unexpected )": "regexp/syntax: internal error",  # RE2/J 1.8's answer to a lone ")"
    "trailing \\": "trailing backslash at end of expression",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid repetition size": "invalid repeat count",
    "bad repetition operator": "invalid nested repetition operator",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid named capture group": "invalid named capture",
    "invalid escape sequence": "invalid escape sequence",
    "invalid character class range": "invalid character class range",
    "invalid character class": "invalid character class",
    "invalid UTF-8": "invalid UTF-8",
}

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the C++ library would log every rejected pattern to stderr
_OPTIONS.max_mem = 64 << 20  # RE2/J has no program-size limit; keep C++ RE2's well above real patterns
#: ``(?P<name>`` / ``(?<name>`` openings (an escaped "(" is excluded by the scan below)
_NAMED_GROUP = re.compile(r"\(\?P?<([^>]*)>")


class InvalidRegex(ValueError):
    """A pattern RE2/J rejects; ``message`` is what Kafka answers with INVALID_REGULAR_EXPRESSION."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TopicRegex:
    """A compiled subscription pattern; topics match on the whole name."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str, compiled: re2._Regexp) -> None:
        self.pattern = pattern
        self._compiled = compiled

    def fullmatch(self, name: str) -> bool:
        return self._compiled.fullmatch(name) is not None

    def __repr__(self) -> str:
        return f"TopicRegex({self.pattern!r})"


def _invalid(pattern: str, description: str) -> InvalidRegex:
    return InvalidRegex(f"SubscribedTopicRegex `{pattern}` is not a valid regular expression: {description}.")


def _rejected_by_re2j_only(pattern: str) -> str | None:
    """The RE2/J description for a pattern C++ RE2 accepts but RE2/J does not, else None."""
    names: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if pattern[i + 1 : i + 2] == "C":
                return "invalid escape sequence"
            if pattern[i + 1 : i + 2] == "Q":  # \Q...\E: literal text
                end = pattern.find("\\E", i + 2)
                i = len(pattern) if end < 0 else end + 2
                continue
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            # a "]" right after "[" or "[^" is a literal member, not the end of the class
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif c == "(":
            m = _NAMED_GROUP.match(pattern, i)
            if m is not None:
                if m.group(1) in names:
                    return "duplicate capture group name"
                names.append(m.group(1))
        i += 1
    return None


def compile_regex(pattern: str) -> TopicRegex:
    """Compile ``pattern`` as RE2/J would, or raise ``InvalidRegex`` with Kafka's message."""
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        text = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        head, _, fragment = text.partition(": ")
        if head == "invalid perl operator" and fragment.startswith("(?<"):
            head = "invalid named capture group"  # RE2/J reads any "(?<" as a named group: (?<=a) too
        raise _invalid(pattern, _DESCRIPTIONS.get(head, head)) from None
    only_re2j = _rejected_by_re2j_only(pattern)
    if only_re2j is not None:
        raise _invalid(pattern, only_re2j)
    return TopicRegex(pattern, compiled)

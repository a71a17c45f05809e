"""JAAS configuration text as Kafka reads ``sasl.jaas.config``.

Kafka parses the value with Java's StreamTokenizer (``JaasConfig``): one or more entries
``<LoginModule class> <flag> [<key>=<value>]* ;`` where a value is a quoted string ("..." or '...',
backslash escapes) or a bare word, and ``//`` and ``/* */`` comments are skipped. The broker reads
the options of its login module: PLAIN's ``user_<name>="<password>"`` entries, OAUTHBEARER's
``unsecuredValidator*`` options. Error messages are Kafka's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FLAGS = ("required", "requisite", "sufficient", "optional")
_WORD_EXTRA = set("-_$.")


class JaasError(ValueError):
    """The text is not a valid JAAS configuration (Kafka's message)."""


@dataclass(frozen=True)
class JaasEntry:
    login_module: str
    flag: str
    options: dict[str, str] = field(default_factory=dict)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch in _WORD_EXTRA or ord(ch) >= 0xA0


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, value) pairs: kind "word", "quoted" or the ordinary character itself ("=", ";")."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch <= " ":
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch in "\"'":
            quote, i = ch, i + 1
            value: list[str] = []
            while i < n and text[i] != quote and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                    value.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(text[i], text[i]))
                else:
                    value.append(text[i])
                i += 1
            i += 1  # the closing quote
            out.append(("quoted", "".join(value)))
        elif _is_word_char(ch):
            start = i
            while i < n and _is_word_char(text[i]):
                i += 1
            out.append(("word", text[start:i]))
        else:
            out.append((ch, ch))
            i += 1
    return out


def parse_jaas(text: str) -> list[JaasEntry]:
    """The login module entries of ``text``; JaasError with Kafka's message when it is invalid."""
    tokens = _tokens(text)
    entries: list[JaasEntry] = []
    pos = 0

    def next_token() -> tuple[str, str] | None:
        nonlocal pos
        if pos >= len(tokens):
            return None
        pos += 1
        return tokens[pos - 1]

    while pos < len(tokens):
        module = next_token()
        if module is None or module[0] != "word":
            raise JaasError("Login module not specified in JAAS config")
        flag = next_token()
        if flag is None or flag[0] != "word":
            raise JaasError("Login module control flag not specified in JAAS config")
        if flag[1].lower() not in FLAGS:
            raise JaasError(f"Invalid login module control flag '{flag[1]}' in JAAS config")
        options: dict[str, str] = {}
        while True:
            token = next_token()
            if token is None:
                raise JaasError("JAAS config entry not terminated by semi-colon")
            if token[0] == ";":
                break
            if token[0] != "word":
                raise JaasError("JAAS config entry not terminated by semi-colon")
            key = token[1]
            equals = next_token()
            if equals is None or equals[0] != "=":
                raise JaasError(f"Value not specified for key '{key}' in JAAS config")
            value = next_token()
            if value is None or value[0] not in ("word", "quoted"):
                raise JaasError(f"Value not specified for key '{key}' in JAAS config")
            options[key] = value[1]
        entries.append(JaasEntry(module[1], flag[1].lower(), options))
    if not entries:
        raise JaasError("JAAS config property does not contain a login module")
    return entries


def login_module_options(text: str) -> JaasEntry:
    """The single login module of a broker's ``<mechanism>.sasl.jaas.config`` (Kafka allows exactly one)."""
    entries = parse_jaas(text)
    if len(entries) != 1:
        raise JaasError(f"JAAS config property contains {len(entries)} login modules, should be 1 module")
    return entries[0]

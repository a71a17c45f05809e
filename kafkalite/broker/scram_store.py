"""Users' SCRAM credentials: Kafka's ScramControlManager rules, and ``scram.log`` persistence.

Records then replay, as broker/acls.py AclStore: an accepted AlterUserScramCredentials appends
one ``scram`` record per upsertion (salt, stored key, server key, iterations: never a password)
and one ``scram_delete`` per deletion before answering; on start the log is replayed. The log is
rewritten from the live set when it grows large.

Answers follow Kafka 4.4 closely, result order included: Kafka builds them from java.util.HashMap
iterations, so ``java_hash_order`` reproduces that order for string keys.

Initial users (``serve --add-scram``, ``kafkalite.add.scram``) are parsed as Kafka's ScramParser
does for ``kafka-storage format --add-scram``, and applied at start only where the user has no
credential for that mechanism yet: a password changed later through AlterUserScramCredentials
is not reset by a restart with the same settings.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kafkalite.errors import ErrorCode
from kafkalite.security.sasl import ScramCredential
from kafkalite.security.scram import (
    DEFAULT_ITERATIONS,
    MAX_ITERATIONS,
    MECHANISM_BY_TYPE,
    MECHANISMS,
    MIN_ITERATIONS,
    credential_from_salted,
    random_salt,
    salted_password,
)
from kafkalite.storage.metadata_log import MetadataLog, unsaved_message

DUPLICATE_ALTER = "A user credential cannot be altered twice in the same request"
DELETE_MISSING = "Attempt to delete a user credential that does not exist"
DESCRIBE_DUPLICATE = "Cannot describe SCRAM credentials for the same user twice in a single request: "
DESCRIBE_MISSING = "Attempt to describe a user credential that does not exist: "

Result = tuple[str, int, str | None]  # (user, error code, error message)
#: Kafka's ScramImage keeps its mechanisms in a HashMap keyed by an enum, whose order follows
#: identity hash codes: it changes from one JVM run to the next (both orders seen with Kafka 4.4).
_IMAGE_ORDER = ("SCRAM-SHA-256", "SCRAM-SHA-512")


def java_string_hash(text: str) -> int:
    """java.lang.String.hashCode (over UTF-16 code units, 32-bit)."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h


def java_hash_order(keys: Iterable[str], largest: int | None = None) -> list[str]:
    """``keys`` (in insertion order) as a java.util.HashMap iterates them.

    A HashMap's table starts at 16 buckets and doubles whenever its size passes 3/4 of them; it
    never shrinks, so ``largest`` is the most entries the map ever held (default: len(keys)).
    Iteration goes bucket by bucket (``(h ^ h >>> 16) & (buckets - 1)``), insertion order within one.
    """
    keys = list(keys)
    size = len(keys) if largest is None else max(largest, len(keys))
    buckets = 16
    while size > buckets * 3 // 4:
        buckets *= 2

    def bucket(key: str) -> int:
        h = java_string_hash(key)
        return (h ^ (h >> 16)) & (buckets - 1)

    return sorted(keys, key=bucket)  # stable: insertion order within a bucket


class _JavaMap:
    """Insertion order plus the largest size reached, to iterate as java.util.HashMap would."""

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}
        self.largest = 0

    def put(self, key: str, value: Any) -> None:
        self.items[key] = value
        self.largest = max(self.largest, len(self.items))

    def pop(self, key: str) -> Any:
        return self.items.pop(key, None)

    def __contains__(self, key: str) -> bool:
        return key in self.items

    def ordered(self) -> list[tuple[str, Any]]:
        return [(k, self.items[k]) for k in java_hash_order(self.items, self.largest)]


@dataclass(frozen=True)
class Upsertion:
    name: str
    mechanism: int  # wire type: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512
    iterations: int
    salt: bytes
    salted_password: bytes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def to_record(name: str, cred: ScramCredential) -> dict[str, Any]:
    return {
        "type": "scram",
        "name": name,
        "mechanism": cred.mechanism,
        "salt": _b64(cred.salt),
        "stored_key": _b64(cred.stored_key),
        "server_key": _b64(cred.server_key),
        "iterations": cred.iterations,
    }


def from_record(record: dict[str, Any]) -> ScramCredential:
    return ScramCredential(
        mechanism=record["mechanism"],
        salt=base64.b64decode(record["salt"]),
        iterations=int(record["iterations"]),
        stored_key=base64.b64decode(record["stored_key"]),
        server_key=base64.b64decode(record["server_key"]),
    )


def _check_name_and_mechanism(name: str, mechanism: int) -> tuple[int, str] | None:
    """ScramControlManager.validateScramUsernameAndMechanism."""
    if not name:
        return int(ErrorCode.UNACCEPTABLE_CREDENTIAL), "Username must not be empty"
    if mechanism not in MECHANISM_BY_TYPE:
        return int(ErrorCode.UNSUPPORTED_SASL_MECHANISM), "Unknown SCRAM mechanism"
    return None


class ScramStore:
    """Credentials by (user, mechanism name), with the log they are kept in."""

    def __init__(self, log: MetadataLog, fsync: bool = False) -> None:
        self.log = log
        self.fsync = fsync
        self.credentials: dict[tuple[str, str], ScramCredential] = {}

    # ---- state --------------------------------------------------------------------------------------------

    def load(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self._apply(record)

    def _apply(self, record: dict[str, Any]) -> None:
        key = (record["name"], record["mechanism"])
        if record.get("type") == "scram_delete":
            self.credentials.pop(key, None)
        else:
            self.credentials[key] = from_record(record)

    def _commit(self, records: list[dict[str, Any]]) -> None:
        """Durable (under ``--fsync always``) before the state changes and the answer goes out."""
        if not records:
            return
        self.log.append_durably(records, self.fsync)  # OSError: nothing changed, in memory or on disk
        for record in records:
            self._apply(record)
        self.log.compact_quietly(self.snapshot)

    def snapshot(self) -> list[dict[str, Any]]:
        return [to_record(name, cred) for (name, _m), cred in sorted(self.credentials.items())]

    def lookup(self, user: str, mechanism: str) -> ScramCredential | None:
        """The ``CredentialLookup`` SCRAM logins use (kafkalite.security.sasl)."""
        return self.credentials.get((user, mechanism))

    def users(self) -> dict[str, list[ScramCredential]]:
        out: dict[str, list[ScramCredential]] = {}
        for (name, _m), cred in sorted(self.credentials.items()):
            out.setdefault(name, []).append(cred)
        return out

    def put(self, name: str, credential: ScramCredential) -> None:
        self._commit([to_record(name, credential)])

    # ---- AlterUserScramCredentials (ScramControlManager.alterCredentials) -----------------------------------

    def alter(self, deletions: list[tuple[str, int]], upsertions: list[Upsertion]) -> list[Result]:
        """Validate, persist and apply; one result per user named, in Kafka's order."""
        to_delete = _JavaMap()
        to_upsert = _JavaMap()
        errors = _JavaMap()
        for name, mechanism in deletions:
            if name in errors:
                continue
            if to_delete.pop(name) is not None:
                errors.put(name, (int(ErrorCode.DUPLICATE_RESOURCE), DUPLICATE_ALTER))
                continue
            error = _check_name_and_mechanism(name, mechanism)
            if error is None and (name, MECHANISM_BY_TYPE[mechanism]) not in self.credentials:
                error = (int(ErrorCode.RESOURCE_NOT_FOUND), DELETE_MISSING)
            if error is not None:
                errors.put(name, error)
            else:
                to_delete.put(name, mechanism)
        for up in upsertions:
            if up.name in errors:
                continue
            if to_delete.pop(up.name) is not None or to_upsert.pop(up.name) is not None:
                errors.put(up.name, (int(ErrorCode.DUPLICATE_RESOURCE), DUPLICATE_ALTER))
                continue
            error = _check_name_and_mechanism(up.name, up.mechanism)
            if error is None and up.iterations < MIN_ITERATIONS:
                error = (int(ErrorCode.UNACCEPTABLE_CREDENTIAL), "Too few iterations")
            elif error is None and up.iterations > MAX_ITERATIONS:
                error = (int(ErrorCode.UNACCEPTABLE_CREDENTIAL), "Too many iterations")
            if error is not None:
                errors.put(up.name, error)
            else:
                to_upsert.put(up.name, up)
        results: list[Result] = []
        records: list[dict[str, Any]] = []
        for name, mechanism in to_delete.ordered():
            results.append((name, 0, None))
            records.append({"type": "scram_delete", "name": name, "mechanism": MECHANISM_BY_TYPE[mechanism]})
        for name, up in to_upsert.ordered():
            if not up.salted_password:
                # Java's HMAC refuses an empty key: Kafka answers UNKNOWN_SERVER_ERROR, without a message.
                errors.put(name, (int(ErrorCode.UNKNOWN_SERVER_ERROR), None))
                continue
            results.append((name, 0, None))
            cred = credential_from_salted(MECHANISM_BY_TYPE[up.mechanism], up.salt, up.salted_password,
                                          up.iterations)
            records.append(to_record(name, cred))
        results.extend((name, code, message) for name, (code, message) in errors.ordered())
        try:
            self._commit(records)
        except OSError as exc:  # a full disk: every change fails, none is made (the connection stays)
            unsaved = (int(ErrorCode.KAFKA_STORAGE_ERROR), unsaved_message(exc))
            return [(name, *unsaved) if code == 0 else (name, code, message) for name, code, message in results]
        return results

    # ---- DescribeUserScramCredentials (ScramImage.describe) ------------------------------------------------

    def describe(self, users: list[str] | None) -> list[dict[str, Any]]:
        unique = _JavaMap()
        if not users:
            for mechanism in _IMAGE_ORDER:
                names = [name for name, mech in self.credentials if mech == mechanism]
                for name in java_hash_order(names):
                    unique.put(name, False)
        else:
            for name in users:
                unique.put(name, name in unique)
        results = []
        for name, duplicate in unique.ordered():
            result: dict[str, Any] = {"user": name, "error_code": 0, "error_message": "", "credential_infos": []}
            if duplicate:
                result.update(error_code=int(ErrorCode.DUPLICATE_RESOURCE), error_message=DESCRIBE_DUPLICATE + name)
            else:
                infos = [
                    {"mechanism": MECHANISMS[mech][1], "iterations": self.credentials[(name, mech)].iterations}
                    for mech in _IMAGE_ORDER
                    if (name, mech) in self.credentials
                ]
                if infos:
                    result["credential_infos"] = infos
                else:
                    result.update(error_code=int(ErrorCode.RESOURCE_NOT_FOUND), error_message=DESCRIBE_MISSING + name)
            results.append(result)
        return results

    # ---- initial users ------------------------------------------------------------------------------------

    def add_initial(self, entries: Iterable[str]) -> list[str]:
        """Apply ``--add-scram`` entries where the user has no credential for that mechanism yet.

        Returns the ``mechanism:user`` pairs added. Raises ValueError (Kafka's message) for a bad entry,
        before anything is written.
        """
        parsed = [parse_add_scram(entry) for entry in entries]
        added = []
        records = []
        for name, cred in parsed:
            if (name, cred.mechanism) in self.credentials:
                continue
            records.append(to_record(name, cred))
            added.append(f"{cred.mechanism}:{name}")
        self._commit(records)
        return added


# ---- --add-scram (Kafka's ScramParser) ------------------------------------------------------------------------


def split_add_scram_setting(value: str) -> list[str]:
    """``kafkalite.add.scram``: entries separated by ``;`` (``;`` outside ``[...]``)."""
    entries, depth, current = [], 0, ""
    for ch in value:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        if ch == ";" and depth == 0:
            entries.append(current)
            current = ""
        else:
            current += ch
    entries.append(current)
    return [e.strip() for e in entries if e.strip()]


def _component(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq:
        raise ValueError(f"No equals sign found in SCRAM component: {text}")
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        value = value[1:-1]
    return key, value


def _decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"Failed to decode given {what}: {value}") from None


def parse_add_scram(argument: str) -> tuple[str, ScramCredential]:
    """One ``MECHANISM=[name=...,password=...]`` entry as ``kafka-storage format --add-scram`` takes it.

    Accepts ``name``, ``password`` or ``saltedpassword`` (base64, with ``salt``), ``salt`` (base64)
    and ``iterations`` (4096 by default, 4096..16384); errors carry Kafka's messages.
    """
    text = argument.strip()
    mechanism, eq, config = text.partition("=")
    if not eq:
        raise ValueError(f"Failed to find equals sign in SCRAM argument '{text}'")
    if mechanism not in MECHANISMS:
        raise ValueError(f"The add-scram mechanism {mechanism} is not supported.")
    if not config.startswith("["):
        raise ValueError("Expected configuration string to start with [")
    if not config.endswith("]"):
        raise ValueError("Expected configuration string to end with ]")
    components = dict(_component(part) for part in config[1:-1].split(","))
    name = components.pop("name", None)
    if name is None:
        raise ValueError("You must supply 'name' to add-scram")
    salt_text = components.pop("salt", None)
    salt = _decode(salt_text, "salt") if salt_text is not None else None
    iterations_text = components.pop("iterations", None)
    try:
        iterations = int(iterations_text) if iterations_text is not None else DEFAULT_ITERATIONS
    except ValueError:
        raise ValueError(f"Failed to parse iterations count: {iterations_text}") from None
    password = components.pop("password", None)
    salted_text = components.pop("saltedpassword", None)
    salted: bytes | None = None
    if password is None:
        if salted_text is None:
            raise ValueError("You must supply one of 'password' or 'saltedpassword' to add-scram")
        if salt is None:
            raise ValueError("You must supply 'salt' with 'saltedpassword' to add-scram")
        salted = _decode(salted_text, "saltedPassword")
    if components:
        raise ValueError("Unknown SCRAM configurations: " + ", ".join(sorted(components)))
    if iterations < MIN_ITERATIONS:
        raise ValueError(f"The 'iterations' value must be >= {MIN_ITERATIONS} for add-scram using "
                         f"{mechanism.replace('-', '_')}")
    if iterations > MAX_ITERATIONS:
        raise ValueError(f"The 'iterations' value must be <= {MAX_ITERATIONS} for add-scram using "
                         f"{mechanism.replace('-', '_')}")
    salt = random_salt() if salt is None else salt
    if salted is None:
        assert password is not None
        salted = salted_password(mechanism, password, salt, iterations)
    return name, credential_from_salted(mechanism, salt, salted, iterations)

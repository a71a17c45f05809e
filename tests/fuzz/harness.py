"""A request fuzzer for kafkalite: valid requests from the conformance corpus, mutated, sent over sockets.

Seeds are the request steps of ``kafkalite/conformance/scenarios/*.json`` (built and encoded by the
conformance wire module, the same bytes a client sends), plus one request at schema defaults for
every advertised (API, version) the corpus lacks. Each connection sends up to two seeds as they are
(the state the mutant meets: topics, groups, producers) and then one mutant, which comes last as
the broker may close the connection on it:

- ``null``: one field (top-level, or of the first or last element of an array) set to null, mostly
  where the schema allows it, otherwise where it does not; the codec writes -1 / 0 lengths for it.
- ``extreme``: one integer field set to an extreme (-1, 0, the type's min and max).
- ``count``: an int32 or varint somewhere in the body overwritten with a huge or negative length.
- ``truncate`` / ``extend``: the body cut short, or followed by random bytes.
- ``flip``: a few random bytes of the body changed.
- ``version``: the header's version changed to another one (advertised or not).
- ``header``: odd client ids (null, overlong, invalid UTF-8) and broken header tagged fields.

No frame is checked for a particular answer (that is the conformance suite's job): what is checked
is that the broker never hits an internal error, answers in correlation order, keeps serving a
connection that stays healthy throughout, and answers a fresh client at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import struct
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kafkalite.broker.limits import MAX_PARTITIONS_PER_REQUEST
from kafkalite.conformance.corpus import NAMES, load, substitute, unresolved
from kafkalite.conformance.wire import api_key, build_request
from kafkalite.protocol import codec

CLIENT_ID = "fuzz"
SENTINEL_CORRELATION = 0x7FFF_0000
API_VERSIONS_V0 = (struct.pack(">ihhih", 10 + len(CLIENT_ID), 18, 0, SENTINEL_CORRELATION, len(CLIENT_ID))
                   + CLIENT_ID.encode())

# Mutants of these two APIs may ask for at most this many partitions or topics, or for more than Kafka's
# per-request limit (refused whole with POLICY_VIOLATION, which the fuzz run thereby exercises); counts in
# between would really be created, thousands of directories per mutant, which a CI-sized run cannot afford.
MAX_FUZZ_PARTITIONS = 8
CREATE_TOPICS_KEY = 19
CREATE_PARTITIONS_KEY = 37


@dataclass
class Seed:
    name: str
    key: int
    version: int
    body: dict[str, Any]


def seed_values() -> dict[str, Any]:
    """Fixed values for the corpus placeholders, so every run sends the same bytes."""
    values: dict[str, Any] = {n: f"fz-{n}" for n in NAMES}
    values["uuid"] = "00000000-0000-4000-8000-00000000f022"
    return values


def corpus_seeds(unbuildable: list[str]) -> list[Seed]:
    """Every distinct request step of the conformance corpus, placeholders resolved.

    Steps that cannot be built here (the runner's values are not all stand-ins) go to ``unbuildable``.
    """
    values = seed_values()
    out: dict[tuple[str, int, str], Seed] = {}
    for scenario in load():
        for step in scenario.steps:
            if "api" not in step or "raw" in step:
                continue
            try:
                seed = _resolve(step, values)
            except ValueError as exc:
                unbuildable.append(str(exc))
                continue
            out.setdefault((seed.name, seed.version, repr(seed.body)), seed)
    return list(out.values())


def _resolve(step: dict[str, Any], values: dict[str, Any]) -> Seed:
    """The step as a seed; a value the scenario saves from an answer gets a stand-in that builds.

    Each such value is a UUID (topic ids), a number (producer ids and epochs) or a string
    (member ids): the first combination of those that builds is taken.
    """
    resolved = substitute(step, values)
    missing = sorted(set(unresolved(resolved)))
    kinds = [(str(uuid.UUID(int=random.Random(name).getrandbits(128))), 0, f"fz-{name}") for name in missing]
    for choice in itertools.product(*kinds):
        attempt = substitute(resolved, dict(zip(missing, choice, strict=True)))
        name, version, body = attempt["api"], int(attempt["version"]), attempt.get("body") or {}
        try:
            build_request(name, version, body).encode()
        except (ValueError, TypeError, AttributeError, struct.error):
            continue
        return Seed(name, api_key(name), version, body)
    raise ValueError(f"no stand-in builds {step}")  # a harness bug, not a seed to skip


def all_seeds(advertised: dict[int, tuple[int, int]]) -> list[Seed]:
    """The corpus seeds of advertised versions, plus a default body for every advertised version it lacks."""
    names = {key: name for name, key in codec.api_keys_by_name().items()}
    unbuildable: list[str] = []
    seeds = [s for s in corpus_seeds(unbuildable) if s.key in advertised
             and advertised[s.key][0] <= s.version <= advertised[s.key][1]]
    by_name = {name: key for key, name in names.items()}
    for failure in unbuildable:  # only steps for APIs the broker does not advertise may fail
        api = failure.split("'api': '", 1)[-1].split("'", 1)[0]
        assert by_name.get(api) not in advertised, failure
    # Steps that are invalid by design (the nulls family's nulls in non-nullable fields) are not seeds:
    # a mutant of one would be judged as if the mutation had made it invalid.
    seeds = [s for s in seeds if _decodes(s)]
    covered = {(s.key, s.version) for s in seeds}
    for key, (low, high) in sorted(advertised.items()):
        for version in range(low, high + 1):
            if (key, version) not in covered:
                seeds.append(Seed(names[key], key, version, {}))
    return seeds


def _decodes(seed: Seed) -> bool:
    body = bytes(build_request(seed.name, seed.version, seed.body).encode())
    try:
        codec.decode_request(seed.key, seed.version, body)
    except codec.CodecError:
        return False
    return True


# -- walking a request object -----------------------------------------------------------------------


def _fields(struct_field: Any, version: int) -> list[Any]:
    return [f for f in struct_field._fields if f.for_version_q(version)]


def field_paths(
    obj: Any, struct_field: Any, version: int, prefix: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, schema field) for every field present at ``version``, into the elements of struct arrays."""
    for f in _fields(struct_field, version):
        path = (*prefix, f.name)
        yield path, f
        value = getattr(obj, f.name, None)
        if f.is_struct_array() and value:
            for index in dict.fromkeys((0, len(value) - 1)):
                yield from field_paths(value[index], f.array_of, version, (*path, index))
        elif f.is_struct() and value is not None:
            yield from field_paths(value, f, version, path)


def set_path(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        obj = obj[part] if isinstance(part, int) else getattr(obj, part)
    setattr(obj, path[-1], value)


def can_be_null(f: Any, version: int) -> bool:
    """Whether the wire can carry a null here at all (strings, bytes, arrays); numbers and UUIDs cannot."""
    if f.tagged_field_q(version):
        return False  # absent or present, never null: the codec writes a tagged null as absent
    return bool(f.is_array() or f.is_struct() or f.type_str in ("string", "bytes", "records"))


_INT_RANGES = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}


def int_bits(f: Any) -> int | None:
    return _INT_RANGES.get(getattr(f, "_type_str", ""))


# -- mutation ---------------------------------------------------------------------------------------


@dataclass
class Frame:
    kind: str
    key: int
    version: int
    data: bytes  # size prefix included


class Mutator:
    """Frames from seeds, deterministic for a given ``random.Random``."""

    KINDS = ("null", "null", "null", "extreme", "count", "truncate", "extend", "flip", "version", "header")

    def __init__(self, seeds: list[Seed], advertised: dict[int, tuple[int, int]], rng: random.Random) -> None:
        self.seeds = seeds
        self.advertised = advertised
        self.rng = rng
        self.correlation = 0

    def frame(self, seed: Seed) -> Frame:
        """The seed as it is."""
        return Frame("seed", seed.key, seed.version, self._encode(self._request(seed)))

    def _request(self, seed: Seed) -> Any:
        return build_request(seed.name, seed.version, seed.body)

    def _encode(self, request: Any) -> bytes:
        self.correlation = (self.correlation + 1) % SENTINEL_CORRELATION
        request.with_header(correlation_id=self.correlation, client_id=CLIENT_ID)
        return bytes(request.encode(header=True, framed=True))

    def null_sweep(self, every_seed: bool = False) -> Iterator[tuple[bool, str, Frame]]:
        """Every field of every seed nulled in turn: (nullable at that version, where, frame).

        Unless ``every_seed``, a field already nulled in another seed of the same API and version
        is skipped (the schema is the same; only the state around it differs).
        """
        done: set[str] = set()
        for seed in self.seeds:
            request = self._request(seed)
            for path, f in list(field_paths(request, request._struct, seed.version)):
                if not can_be_null(f, seed.version):
                    continue
                mutant, empty = self._request(seed), self._request(seed)
                set_path(mutant, path, None)
                set_path(empty, path, [] if f.is_array() else "")
                try:
                    data = self._encode(mutant)
                    if data[12:] == self._encode(empty)[12:]:  # after the correlation id
                        continue  # the codec wrote no null (Metadata v0 has no null topic list)
                except Exception:  # a null the codec cannot write (a struct that is not nullable)
                    continue
                where = f"{seed.name} v{seed.version} {'.'.join(map(str, path))}"
                schema_path = f"{seed.name} v{seed.version} {'.'.join(str(p) for p in path if isinstance(p, str))}"
                if not every_seed and schema_path in done:
                    continue
                done.add(schema_path)
                if seed.body.get("acks") == 0:
                    where += " (acks=0: a failure closes the connection)"
                if self._bounded(seed, data):
                    yield f.nullable_for_version_q(seed.version), where, Frame("null", seed.key, seed.version, data)

    def connection_frames(self, valid_before: int = 2) -> list[Frame]:
        """Up to ``valid_before`` seeds as they are (state for the mutant to meet), then one mutant.

        The mutant comes last because the broker may close the connection on it.
        """
        frames = [self.next_frame("seed") for _ in range(self.rng.randint(0, valid_before))]
        return [*frames, self.next_frame()]

    def next_frame(self, kind: str | None = None) -> Frame:
        chosen = kind
        while True:
            seed = self.rng.choice(self.seeds)
            kind = chosen or self.rng.choice(self.KINDS)
            try:
                data = self._mutate(seed, kind)
            except Exception:  # the codec cannot write this mutant (a null int, say): pick another
                continue
            if data is not None and self._bounded(seed, data):
                return Frame(kind, seed.key, seed.version, data)

    def _mutate(self, seed: Seed, kind: str) -> bytes | None:
        rng = self.rng
        request = self._request(seed)
        if kind in ("null", "extreme"):
            paths = [(p, f) for p, f in field_paths(request, request._struct, seed.version)
                     if kind == "null" or int_bits(f)]
            if kind == "null" and rng.random() < 0.6:  # mostly fields the schema lets be null
                paths = [(p, f) for p, f in paths if f.nullable_for_version_q(seed.version)]
            if not paths:
                return None
            path, f = rng.choice(paths)
            if kind == "null":
                value: Any = None
            else:
                low, high = -(1 << ((int_bits(f) or 32) - 1)), (1 << ((int_bits(f) or 32) - 1)) - 1
                value = rng.choice((-1, 0, low, high, rng.randint(low, high)))
            set_path(request, path, value)
            return self._encode(request)
        data = bytearray(self._encode(request))
        body_start = self._body_start(data, seed)
        if kind == "seed":
            return bytes(data)
        if kind == "truncate":
            cut = rng.randrange(body_start, len(data)) if len(data) > body_start else body_start
            del data[max(cut, 12) :]
        elif kind == "extend":
            data += rng.randbytes(rng.randint(1, 64))
        elif kind == "flip":
            if len(data) <= body_start:
                return None
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(body_start, len(data))] = rng.randrange(256)
        elif kind == "count":
            if len(data) <= body_start + 1:
                return None
            pos = rng.randrange(body_start, len(data) - 1)
            if rng.random() < 0.5:
                packed = struct.pack(">i", rng.choice((0x7FFFFFFF, -2, -0x80000000, 0x10000000, 1 << 20)))
            else:  # an unsigned varint: a compact length of about 2**28 or 2**32
                packed = rng.choice((b"\xff\xff\xff\x7f", b"\xff\xff\xff\xff\x0f", b"\x80\x80\x80\x80\x08"))
            data[pos : pos + len(packed)] = packed
        elif kind == "version":
            low, high = self.advertised[seed.key]
            other = rng.choice([v for v in range(max(low - 1, -1), high + 3) if v != seed.version] or [seed.version])
            struct.pack_into(">h", data, 6, other)
        elif kind == "header":
            return self._header_oddity(bytes(data), seed)
        struct.pack_into(">i", data, 0, len(data) - 4)
        return bytes(data)

    def _body_start(self, frame: bytearray, seed: Seed) -> int:
        client_len = struct.unpack_from(">h", frame, 12)[0]
        start = 14 + max(client_len, 0)
        if codec.is_flexible_request(seed.key, seed.version):
            start += 1  # the header's empty tag buffer, as the wire module writes it
        return start

    def _header_oddity(self, frame: bytes, seed: Seed) -> bytes:
        rng = self.rng
        head, rest = frame[4:12], frame[14 + len(CLIENT_ID) :]
        choice = rng.randrange(5)
        if choice == 0:  # a null client id (allowed)
            out = head + struct.pack(">h", -1) + rest
        elif choice == 1:  # a client id running past the end
            out = head + struct.pack(">h", 0x7FFF) + rest
        elif choice == 2:  # a negative client id length other than -1
            out = head + struct.pack(">h", -2) + rest
        elif choice == 3:  # a client id that is not UTF-8
            out = head + struct.pack(">h", 2) + b"\xff\xfe" + rest
        else:  # header tagged fields that run past the end (flexible) or stray bytes (not)
            tail = rest[1:] if codec.is_flexible_request(seed.key, seed.version) else rest
            out = head + struct.pack(">h", len(CLIENT_ID)) + CLIENT_ID.encode() + b"\x01\x05\x7f" + tail
        if len(out) < 8:
            return frame
        return struct.pack(">i", len(out)) + out

    def _bounded(self, seed: Seed, frame: bytes) -> bool:
        """Whether the broker may be sent ``frame`` without side effects this test cannot afford."""
        key, version = struct.unpack_from(">hh", frame, 4)
        if key not in (CREATE_TOPICS_KEY, CREATE_PARTITIONS_KEY):
            return True
        # Decode it as the broker would; a frame it cannot decode creates nothing.
        try:
            flexible = codec.is_flexible_request(key, version)
            from kafkalite.protocol.header import parse_request_header

            header = parse_request_header(frame[4:], flexible)
            request = codec.decode_request(key, version, memoryview(frame[4:])[header.body_offset :])
        except Exception:
            return True
        topics = getattr(request, "topics", None) or []
        if len(topics) > MAX_FUZZ_PARTITIONS:
            return False
        for topic in topics:
            count = getattr(topic, "num_partitions", None)
            if count is None:
                count = getattr(topic, "count", None)
            if isinstance(count, int) and MAX_FUZZ_PARTITIONS < count <= MAX_PARTITIONS_PER_REQUEST:
                return False
            if len(getattr(topic, "assignments", None) or []) > MAX_FUZZ_PARTITIONS:
                return False
        return True


# -- driving a broker -------------------------------------------------------------------------------


@dataclass
class Stats:
    frames: int = 0
    connections: int = 0
    closed: int = 0
    timed_out: int = 0
    answers: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    timeouts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = struct.unpack(">i", await reader.readexactly(4))
    return await reader.readexactly(size)


async def one_connection(host: str, port: int, frames: list[Frame], stats: Stats, timeout: float) -> str:
    """Send ``frames`` and a sentinel ApiVersions on one connection; read until the sentinel or a close.

    Returns what became of the connection: ``open`` (the sentinel was answered), ``closed`` or ``timeout``.
    """
    reader, writer = await asyncio.open_connection(host, port)
    stats.connections += 1
    sent = [struct.unpack_from(">i", f.data, 8)[0] for f in frames]
    try:
        for f in frames:
            stats.frames += 1
            stats.kinds[f.kind] += 1
            writer.write(f.data)
        writer.write(API_VERSIONS_V0)
        await writer.drain()
        position = 0
        while True:
            try:
                answer = await asyncio.wait_for(_read_frame(reader), timeout)
            except (asyncio.IncompleteReadError, ConnectionError):
                stats.closed += 1
                return "closed"
            except asyncio.TimeoutError:
                stats.timed_out += 1  # a request parked (long poll) or a frame still incomplete
                stats.timeouts[f"{frames[-1].kind} {frames[-1].key}v{frames[-1].version}"] += 1
                return "timeout"
            correlation = struct.unpack_from(">i", answer, 0)[0]
            if correlation == SENTINEL_CORRELATION:
                return "open"
            stats.answers += 1
            # Answers come in request order; requests that get none (acks=0) are skipped.
            while position < len(sent) and sent[position] != correlation:
                position += 1
            if position == len(sent):
                stats.problems.append(f"answer with correlation id {correlation} not sent (or out of order)")
                return "open"
            position += 1
    except (ConnectionError, OSError):
        stats.closed += 1
        return "closed"
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def healthy_request(host: str, port: int, timeout: float = 10.0) -> bytes:
    """A valid Metadata v12 request for every topic; returns the answer's bytes (raises if none)."""
    request = build_request("Metadata", 12, {"topics": None, "allow_auto_topic_creation": False})
    request.with_header(correlation_id=7, client_id="healthy")
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(bytes(request.encode(header=True, framed=True)))
        await writer.drain()
        return await asyncio.wait_for(_read_frame(reader), timeout)
    finally:
        writer.close()


async def fuzz(host: str, port: int, mutator: Mutator, connections: int, stats: Stats, *,
               valid_before: int = 2, parallel: int = 8, timeout: float = 2.0) -> None:
    """Open ``connections`` connections, ``parallel`` at a time, each sending valid frames and a mutant.

    A bystander connection stays open throughout and must get an answer to a valid request every
    so often: fuzzed connections never disturb another client.
    """
    bystander_reader, bystander_writer = await asyncio.open_connection(host, port)
    ping = build_request("Metadata", 12, {"topics": [], "allow_auto_topic_creation": False})
    queue: asyncio.Queue[list[Frame] | None] = asyncio.Queue(maxsize=parallel * 2)

    async def worker() -> None:
        while (frames := await queue.get()) is not None:
            await one_connection(host, port, frames, stats, timeout)

    workers = [asyncio.create_task(worker()) for _ in range(parallel)]
    try:
        for index in range(connections):
            await queue.put(mutator.connection_frames(valid_before))
            if index % 200 == 0:
                ping.with_header(correlation_id=index, client_id="bystander")
                bystander_writer.write(bytes(ping.encode(header=True, framed=True)))
                answer = await asyncio.wait_for(_read_frame(bystander_reader), 10)
                if struct.unpack_from(">i", answer, 0)[0] != index:
                    stats.problems.append("the bystander connection got a wrong answer")
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        bystander_writer.close()


class ErrorLog(logging.Handler):
    """Collects the broker's error records (internal errors above all) and counts its closes."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[logging.LogRecord] = []
        self.closes: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(record)
        elif record.getMessage().startswith("closing connection"):
            reason = record.getMessage().split(": ", 1)[-1]
            self.closes[reason.split(":")[0][:60]] += 1

    def describe(self, limit: int = 20) -> str:
        seen: dict[str, int] = {}
        out = []
        for record in self.errors:
            text = self.format(record)
            last = text.strip().splitlines()[-1] if text.strip() else record.getMessage()
            seen[last] = seen.get(last, 0) + 1
            if seen[last] == 1 and len(out) < limit:
                out.append(text)
        summary = "\n".join(f"{n} x {line}" for line, n in sorted(seen.items(), key=lambda kv: -kv[1]))
        return summary + "\n\n" + "\n\n".join(out)

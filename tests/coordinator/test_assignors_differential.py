"""kafkalite's assignors, reconciliation and RE2/J-compatible regex against Kafka's own (kafka-group-coordinator
4.4.0 and re2j from Maven Central, run by compat_tests/java_assignors): the same cases, the same
answers. Runs when java and mvn are present; one JVM per test."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping

import pytest

from kafkalite.coordinator._javahash import uuid_sort_key
from kafkalite.coordinator.assignment import Assignment, MemberSpec, TopicSpec
from kafkalite.coordinator.assignors import (
    PartitionAssignorError,
    RangeAssignor,
    SimpleAssignor,
    UniformAssignor,
    _is_homogeneous,
)
from kafkalite.coordinator.reconcile import FencedMemberEpoch, reconcile
from kafkalite.coordinator.reconcile_types import MemberAssignmentState, MemberState
from kafkalite.coordinator.regex import InvalidRegex, compile_regex
from tests.coordinator import kafka_assignors

pytestmark = pytest.mark.skipif(not kafka_assignors.available(), reason="needs java and mvn")

ASSIGNORS = {"uniform": UniformAssignor(), "range": RangeAssignor(), "simple": SimpleAssignor()}


@pytest.fixture(scope="module")
def classpath() -> str:
    return kafka_assignors.build()


def _case(rng: random.Random, assignor: str) -> tuple[dict[str, MemberSpec], dict[uuid.UUID, TopicSpec]]:
    topics = {}
    for _ in range(rng.randint(1, 4)):
        topic_id = uuid.UUID(int=rng.getrandbits(128))
        topics[topic_id] = TopicSpec(topic_id, f"t{len(topics)}", rng.choice([1, 2, 3, 4, 5, 6, 8, 12, 16, 30]))
    topic_ids = list(topics)
    member_ids = [f"m{rng.getrandbits(24):06x}" for _ in range(rng.randint(1, 7))]
    homogeneous = rng.random() < 0.5
    shared = frozenset(rng.sample(topic_ids, rng.randint(1, len(topic_ids))))
    current: dict[str, dict[uuid.UUID, set[int]]] = {m: {} for m in member_ids}
    if rng.random() < 0.8:  # an earlier assignment, some of it stale
        for topic_id, spec in topics.items():
            for partition in range(spec.partitions):
                holders = (rng.sample(member_ids, rng.randint(1, len(member_ids))) if assignor == "simple"
                           else [rng.choice(member_ids)])
                for holder in holders:
                    if rng.random() < 0.7:
                        current[holder].setdefault(topic_id, set()).add(partition)
    members = {}
    for member_id in member_ids:
        subscribed = shared if homogeneous else frozenset(rng.sample(topic_ids, rng.randint(0, len(topic_ids))))
        instance = f"i{rng.randint(0, 9)}-{member_id}" if rng.random() < 0.3 else None
        mine = {t: frozenset(ps) for t, ps in current[member_id].items()}
        members[member_id] = MemberSpec(member_id, instance, None, subscribed, mine)
    return members, topics


def _normalized(assignment: Assignment) -> dict[str, dict[uuid.UUID, frozenset[int]]]:
    return {m: {t: ps for t, ps in a.items() if ps} for m, a in assignment.items() if any(a.values())}


@pytest.mark.parametrize("assignor", sorted(ASSIGNORS))
def test_assignor_matches_kafka(classpath: str, assignor: str) -> None:
    rng = random.Random(f"assignors-{assignor}")
    cases: dict[str, tuple[Mapping[str, MemberSpec], Mapping[uuid.UUID, TopicSpec]]] = {}
    lines = []
    for n in range(300):
        members, topics = _case(rng, assignor)
        name = f"c{n}"
        cases[name] = (members, topics)
        order = sorted(topics, key=uuid_sort_key)
        lines.append(kafka_assignors.assign_line(name, assignor, _is_homogeneous(members), members, topics, order))
    answers = kafka_assignors.run(classpath, lines)
    mismatches = []
    for name, (members, topics) in cases.items():
        kafka = kafka_assignors.parse_assignment(answers[name])
        try:
            ours: Assignment | str = _normalized(ASSIGNORS[assignor].assign(members, topics))
        except PartitionAssignorError as exc:
            ours = f"ERROR {exc}"
        if isinstance(kafka, str) or isinstance(ours, str):
            if not (isinstance(kafka, str) and isinstance(ours, str)):
                mismatches.append((name, kafka, ours))
        elif kafka != ours:
            mismatches.append((name, kafka, ours))
    if mismatches:
        first = mismatches[0]
        raise AssertionError(f"{len(mismatches)} of {len(cases)} differ, first: {first}\n{lines[int(first[0][1:])]}")


PATTERNS = [
    "\\Q\\C\\E", "[\\C]", "\\Q(?P<n>\\E(?P<n>a)", "(?P<n>a)|(?P<n>b)", "\\Qab", "[(?P<n>](?P<n>a)",
    "topic-.*", "orders\\..*", "(a|b)+", "[a-z]+-[0-9]{1,3}", "(?i)ORDERS.*", "\\Qa.b\\E", "\\pL+",
    "[[:alpha:]]+", "(?P<n>x)y", "(?<n>x)y", "a{2,}", "a{,2}", "^t.*$", "(?s).*", "\\d+", "[^-]+", ".*", "",
    "a*?", "(?U)a*", "\\x41", "\\x{41}", "\\101", "\\0", "é+", "\\v", "\\b", "\\z", "\\A.*", "(?m)^a$", "[]a]",
    "[^]a]", "a|", "(?i-s:a)", "(", ")", "a)", "a(?=b)", "a(?!b)", "(?<=a)b", "(a)\\1", "[a-", "a{1001}",
    "a{2,1}", "a++", "x**", "a**?", "*", "+a", "a\\", "[z-a]", "\\8", "\\C", "\\Z", "\\G", "\\e", "\\cA",
    "(?P<n>a)(?P<n>b)", "(?P<>a)", "(?P<1>a)", "(?P<a", "[[:foo:]]", "\\p{Foo}", "\\pZZ", "(?z)", "(?#c)",
    "(?:", "[^]", "\\x{110000}", "a{1000}{1000}", "(?i", "a{2", "\\p{", "((a)", "[\\d-z]", "(?<!a)b", "(?<a",
    "(?<1>a)", "(?<>a)", "(?<a>x)(?P<a>y)", "(?P=n)", "a{0,1001}", "\\Q(\\E", "[\\Q]\\E]", "\\Pl",
    "\\p{^Greek}", "[[:^alpha:]]", "(?-m)x", "x{0}", "x{0,0}", "(|a)", "()", "(?:)",
]
NAMES = ["topic-1", "orders.eu", "ORDERS.x", "a.b", "aab", "abc-12", "x", "", "a", "aa", "é", "A", "tt", "-"]


def test_regex_matches_re2j(classpath: str) -> None:
    lines = [kafka_assignors.regex_line(f"r{i}", p, NAMES) for i, p in enumerate(PATTERNS)]
    answers = kafka_assignors.run(classpath, lines)
    mismatches = []
    for i, pattern in enumerate(PATTERNS):
        kafka = answers[f"r{i}"]
        try:
            compiled = compile_regex(pattern)
            ours = "OK " + ".".join("1" if compiled.fullmatch(n) else "0" for n in NAMES)
        except InvalidRegex as exc:
            prefix = f"SubscribedTopicRegex `{pattern}` is not a valid regular expression: "
            assert exc.message.startswith(prefix) and exc.message.endswith(".")
            ours = "ERR " + exc.message[len(prefix):-1]
        if ours != kafka:
            mismatches.append((pattern, kafka, ours))
    assert not mismatches, mismatches


def _reconcile_case(rng: random.Random, topic_ids: list[uuid.UUID]) -> tuple[object, ...]:
    def some(max_partition: int = 6) -> dict[uuid.UUID, frozenset[int]]:
        out = {}
        for t in topic_ids:
            ps = frozenset(p for p in range(max_partition) if rng.random() < 0.35)
            if ps:
                out[t] = ps
        return out

    state = rng.choice([MemberState.STABLE] * 3 + [MemberState.UNREVOKED_PARTITIONS] * 3
                       + [MemberState.UNRELEASED_PARTITIONS] * 2 + [MemberState.UNKNOWN])
    epoch = rng.randint(1, 9)
    assigned = some()
    pending: dict[uuid.UUID, frozenset[int]] = {}
    if state == MemberState.UNREVOKED_PARTITIONS:
        pending = {t: ps - assigned.get(t, frozenset()) for t, ps in some().items()}
        pending = {t: ps for t, ps in pending.items() if ps} or {topic_ids[0]: frozenset({7})}
    epochs = {t: {p: rng.randint(0, epoch) for p in ps} for t, ps in {**assigned}.items()}
    for t, ps in pending.items():
        epochs.setdefault(t, {}).update({p: rng.randint(0, epoch) for p in ps})
    current = MemberAssignmentState(state, epoch, rng.choice([epoch - 1, epoch]), assigned, pending, epochs)
    target_epoch = epoch + rng.choice([0, 0, 1, 1, 2])
    target = some()
    held = [(t, p) for part in (assigned, pending) for t, ps in part.items() for p in ps]
    if rng.random() < 0.2:
        owned = None
    elif rng.random() < 0.3:
        owned = {}
    else:
        chosen: dict[uuid.UUID, set[int]] = {}
        for t, p in held:
            if rng.random() < 0.6:
                chosen.setdefault(t, set()).add(p)
        owned = {t: frozenset(ps) for t, ps in chosen.items()}
    owners: dict[uuid.UUID, dict[int, int]] = {}
    for t in topic_ids:
        for p in range(7):
            if rng.random() < 0.3:
                owners.setdefault(t, {})[p] = rng.randint(1, epoch)
    subscribed = frozenset(t for t in topic_ids if rng.random() < 0.8)
    return current, target_epoch, target, owned, owners, subscribed, rng.random() < 0.3


def test_reconcile_matches_kafka(classpath: str) -> None:
    rng = random.Random("reconcile")
    topic_ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(3)]
    cases = {f"r{n}": _reconcile_case(rng, topic_ids) for n in range(600)}
    lines = [kafka_assignors.reconcile_line(name, *case) for name, case in cases.items()]  # type: ignore[arg-type]
    answers = kafka_assignors.run(classpath, lines)
    mismatches = []
    for name, (current, target_epoch, target, owned, owners, subscribed, changed) in cases.items():
        def owner_epoch(t: uuid.UUID, p: int, owners: dict[uuid.UUID, dict[int, int]] = owners) -> int:  # type: ignore[assignment]
            return owners.get(t, {}).get(p, -1)

        try:
            ours = kafka_assignors.render_state(reconcile(
                current, target_epoch, target, owned, owner_epoch,  # type: ignore[arg-type]
                subscribed=subscribed, subscription_changed=changed))  # type: ignore[arg-type]
        except FencedMemberEpoch as exc:
            ours = f"FENCED {exc.message}"
        if ours != answers[name]:
            mismatches.append((name, answers[name], ours, lines[int(name[1:])]))
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ, first: {mismatches[0]}"


@pytest.mark.parametrize("assignor", sorted(ASSIGNORS))
def test_assignor_sequences_match_kafka(classpath: str, assignor: str) -> None:
    """A group living through joins, leaves, subscription changes and partition additions, each step fed
    with the previous step's assignment (as the coordinator does), bigger than the random cases above."""
    rng = random.Random(f"sequence-{assignor}")
    topic_ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(5)]
    counts = {t: rng.randint(1, 40) for t in topic_ids}
    members: dict[str, MemberSpec] = {}
    steps: list[tuple[dict[str, MemberSpec], dict[uuid.UUID, TopicSpec]]] = []
    lines = []
    for step in range(60):
        action = rng.random()
        if action < 0.4 or not members:
            member_id = f"m{rng.getrandbits(32):08x}"
            subscribed = frozenset(topic_ids[:3])
            if rng.random() < 0.5:
                subscribed = frozenset(rng.sample(topic_ids, rng.randint(1, 5)))
            members[member_id] = MemberSpec(member_id, f"i{step}" if rng.random() < 0.3 else None, None, subscribed)
        elif action < 0.6:
            del members[rng.choice(sorted(members))]
        elif action < 0.8:
            member_id = rng.choice(sorted(members))
            old = members[member_id]
            members[member_id] = MemberSpec(member_id, old.instance_id, None,
                                            frozenset(rng.sample(topic_ids, rng.randint(1, 5))), old.current)
        else:
            grown = rng.choice(topic_ids)
            counts[grown] += rng.randint(1, 10)
        topics = {t: TopicSpec(t, f"t{i}", counts[t]) for i, t in enumerate(topic_ids)}
        if not members:
            continue
        name = f"c{len(steps)}"
        lines.append(kafka_assignors.assign_line(name, assignor, _is_homogeneous(members), members, topics,
                                                 sorted(topics, key=uuid_sort_key)))
        steps.append((dict(members), topics))
        result = ASSIGNORS[assignor].assign(members, topics)
        members = {m: MemberSpec(m, s.instance_id, None, s.subscribed, result.get(m, {})) for m, s in members.items()}
    answers = kafka_assignors.run(classpath, lines)
    for n, (step_members, topics) in enumerate(steps):
        ours = _normalized(ASSIGNORS[assignor].assign(step_members, topics))
        assert kafka_assignors.parse_assignment(answers[f"c{n}"]) == ours, f"step {n}: {lines[n]}"

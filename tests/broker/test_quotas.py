"""Client quotas: Kafka's rate and throttle arithmetic, the 8-level precedence, validation, replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkalite.broker.quotas import (
    FETCH,
    PRODUCE,
    REQUEST,
    Alteration,
    QuotaRequestError,
    QuotaStore,
    Rate,
    entity_of,
    throttle_time_ms,
    user_of,
)
from kafkalite.errors import ErrorCode
from kafkalite.storage.metadata_log import MetadataLog


class Now:
    """An injected clock the tests move by hand."""

    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


def store_with(*entries: tuple[dict[str, str | None], dict[str, float | None]], log: MetadataLog | None = None,
               now: Now | None = None) -> QuotaStore:
    store = QuotaStore(log, now or Now())
    results = store.alter([Alteration(entity_of(e.items()), list(ops.items())) for e, ops in entries], False)
    assert all(code == ErrorCode.NONE for _, code, _ in results), results
    return store


# ---- Rate and throttle time (Kafka's SampledStat / Rate / QuotaUtils.throttleTime) -------------


def test_a_burst_is_spread_over_the_minimum_window() -> None:
    # 11 samples of 1 s: the rate's window is at least 10 s, so 20000 bytes at once read as 2000 B/s.
    rate = Rate(11, 1000, 0)
    rate.record(20_000, 0)
    assert rate.window_size_ms(0) == 10_000
    assert rate.measure(0) == 2000.0
    # Against 1000 B/s: X = (O - T) / T * W = (2000 - 1000) / 1000 * 10000.
    assert throttle_time_ms(rate, 1000.0, 0) == 10_000


def test_the_window_grows_past_the_minimum_and_old_samples_expire() -> None:
    rate = Rate(11, 1000, 0)
    for second in range(15):
        rate.record(1000, second * 1000)
    # 15 s of 1000 B/s: samples older than 11 windows were reused, the window spans the rest.
    assert rate.measure(14_000) == pytest.approx(1000.0, rel=0.15)
    assert throttle_time_ms(rate, 2000.0, 14_000) == 0
    # 11 s of silence: every sample has expired and the rate is back to 0.
    assert rate.measure(14_000 + 11_000) == 0.0


def test_throttle_rounds_as_kafka() -> None:
    rate = Rate(11, 1000, 0)
    rate.record(1500, 0)  # 150 B/s over 10 s
    assert throttle_time_ms(rate, 100.0, 0) == 5000
    rate.record(1, 0)  # 150.1 B/s: (150.1 - 100) / 100 * 10000 = 5010
    assert throttle_time_ms(rate, 100.0, 0) == 5010


# ---- precedence (DefaultQuotaCallback's 8 levels) --------------------------------------------

LEVELS: list[tuple[dict[str, str | None], float]] = [
    ({"user": "alice", "client-id": "app"}, 1.0),
    ({"user": "alice", "client-id": None}, 2.0),
    ({"user": "alice"}, 3.0),
    ({"user": None, "client-id": "app"}, 4.0),
    ({"user": None, "client-id": None}, 5.0),
    ({"user": None}, 6.0),
    ({"client-id": "app"}, 7.0),
    ({"client-id": None}, 8.0),
]


@pytest.mark.parametrize("first", range(len(LEVELS)))
def test_the_most_specific_configured_level_applies(first: int) -> None:
    store = store_with(*[(entity, {PRODUCE: value}) for entity, value in LEVELS[first:]])
    assert store.quota(PRODUCE, "alice", "app") == LEVELS[first][1]


def test_levels_are_per_quota_type() -> None:
    store = store_with(({"user": "alice"}, {PRODUCE: 100.0}), ({"client-id": "app"}, {FETCH: 200.0}))
    assert store.quota(PRODUCE, "alice", "app") == 100.0
    assert store.quota(FETCH, "alice", "app") == 200.0
    assert store.quota(REQUEST, "alice", "app") is None
    assert store.quota(PRODUCE, "bob", "app") is None


def test_a_user_quota_is_shared_by_the_users_clients() -> None:
    now = Now()
    store = store_with(({"user": "alice"}, {PRODUCE: 1000.0}), now=now)
    assert store.record(PRODUCE, "alice", "one", 10_000, now.ms) == 0  # 1000 B/s: at the bound
    # Another client id of the same user records into the same sensor and goes over.
    assert store.record(PRODUCE, "alice", "two", 10_000, now.ms) == 10_000
    # A client-id quota is per client id: a default client-id entity gives each its own sensor.
    store = store_with(({"client-id": None}, {PRODUCE: 1000.0}), now=now)
    assert store.record(PRODUCE, "alice", "one", 10_000, now.ms) == 0
    assert store.record(PRODUCE, "alice", "two", 10_000, now.ms) == 0


def test_removing_the_quota_stops_throttling() -> None:
    now = Now()
    store = store_with(({"client-id": "app"}, {PRODUCE: 10.0}), now=now)
    assert store.active
    assert store.record(PRODUCE, "ANONYMOUS", "app", 1000, now.ms) > 0
    store.alter([Alteration(entity_of([("client-id", "app")]), [(PRODUCE, None)])], False)
    assert not store.active and store.entities == {}
    assert store.record(PRODUCE, "ANONYMOUS", "app", 1000, now.ms) == 0


def test_request_quota_throttle_is_capped_and_unrecord_takes_back() -> None:
    now = Now()
    store = store_with(({"user": None}, {REQUEST: 1.0, FETCH: 100.0}), now=now)
    assert store.record(REQUEST, "ANONYMOUS", "c", 500.0, now.ms, cap_ms=1000) == 1000
    assert store.record(FETCH, "ANONYMOUS", "c", 5000, now.ms) == 40_000
    store.unrecord(FETCH, "ANONYMOUS", "c", 5000, now.ms)
    assert store.record(FETCH, "ANONYMOUS", "c", 0, now.ms) == 0


def test_user_of_principal() -> None:
    assert user_of("User:alice") == "alice"
    assert user_of("User:ANONYMOUS") == "ANONYMOUS"


# ---- AlterClientQuotas validation (as Kafka 4.4 answers, see compat_tests/test_quotas.py) ----


@pytest.mark.parametrize(
    ("entity", "ops", "message"),
    [
        ({"user": "bob"}, {PRODUCE: 1.5}, "producer_byte_rate cannot be a fractional value."),
        ({"user": "bob"}, {PRODUCE: 0.0}, "Quota producer_byte_rate must be greater than 0"),
        ({"user": "bob"}, {PRODUCE: 1e30}, "Proposed value for producer_byte_rate is too large for a LONG."),
        ({"user": "bob"}, {"nope": 1.0}, "Invalid configuration key nope"),
        ({"user": "bob"}, {"connection_creation_rate": 1.0}, "Invalid configuration key connection_creation_rate"),
        ({"ip": "127.0.0.1"}, {"connection_creation_rate": 3e9},
         "Proposed value for connection_creation_rate is too large for an INT."),
        ({"ip": "127.0.0.1", "user": "x"}, {"connection_creation_rate": 1.0},
         "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId"),
        ({}, {PRODUCE: 1.0}, "Invalid empty client quota entity"),
        ({"user": ""}, {PRODUCE: 1.0}, "Empty user not supported"),
        ({"group": "g"}, {PRODUCE: 1.0}, "Unhandled client quota entity type: group"),
    ],
)
def test_invalid_alterations_answer_kafkas_messages(entity: dict[str, str | None], ops: dict[str, float],
                                                    message: str) -> None:
    store = QuotaStore(None, Now())
    [(_, code, text)] = store.alter([Alteration(entity_of(entity.items()), list(ops.items()))], False)
    assert (code, text) == (ErrorCode.INVALID_REQUEST, message)
    assert store.entities == {}


def test_a_repeated_entity_is_answered_once_and_the_first_applies() -> None:
    store = QuotaStore(None, Now())
    entity = entity_of([("user", "dd")])
    results = store.alter([Alteration(entity, [(PRODUCE, 5.0)]), Alteration(entity, [(PRODUCE, 6.0)])], False)
    message = "Ignoring duplicate entity ClientQuotaEntity(entries={user=dd})"
    assert results == [(entity, ErrorCode.INVALID_REQUEST, message)]
    assert store.entities == {entity: {PRODUCE: 5.0}}


def test_validate_only_changes_nothing() -> None:
    store = QuotaStore(None, Now())
    [(_, code, _)] = store.alter([Alteration(entity_of([("user", "v")]), [(PRODUCE, 5.0)])], True)
    assert code == ErrorCode.NONE and store.entities == {} and not store.active


# ---- DescribeClientQuotas filters ------------------------------------------------------------


def test_describe_filters() -> None:
    store = store_with(*[(entity, {PRODUCE: value}) for entity, value in LEVELS],
                       ({"ip": "10.0.0.1"}, {"connection_creation_rate": 3.0}))

    def names(components: list[tuple[str, int, str | None]], strict: bool = False) -> list[dict[str, str | None]]:
        return sorted((dict(e) for e, _ in store.describe(components, strict)), key=repr)

    assert len(names([])) == 9
    assert names([], strict=True) == []
    assert names([("user", 0, "alice")], strict=True) == [{"user": "alice"}]
    assert len(names([("user", 0, "alice")])) == 3
    assert names([("user", 1, None), ("client-id", 1, None)]) == [{"client-id": None, "user": None}]
    # MATCH_TYPE_SPECIFIED matches any entity of the type, the default one included (as Kafka 4.4).
    assert len(names([("user", 2, None)], strict=True)) == 2
    assert names([("ip", 2, None)]) == [{"ip": "10.0.0.1"}]
    with pytest.raises(QuotaRequestError) as refused:
        store.describe([("group", 0, "x")], False)
    assert refused.value.code == ErrorCode.UNSUPPORTED_VERSION
    with pytest.raises(QuotaRequestError, match="cannot appear more than once"):
        store.describe([("user", 0, "a"), ("user", 0, "b")], False)
    with pytest.raises(QuotaRequestError, match="IP filter component should not be used"):
        store.describe([("ip", 2, None), ("user", 2, None)], False)


# ---- quotas.log: records then replay ---------------------------------------------------------


def test_quotas_survive_a_restart(tmp_path: Path) -> None:
    def reopen() -> QuotaStore:
        log = MetadataLog(tmp_path / "quotas.log")
        store = QuotaStore(log, Now())
        store.load(log.replay())
        log.open()
        return store

    store = reopen()
    store.alter([Alteration(entity_of([("user", "alice")]), [(PRODUCE, 100.0), (REQUEST, 12.5)]),
                 Alteration(entity_of([("ip", None)]), [("connection_creation_rate", 5.0)])], False)
    store.alter([Alteration(entity_of([("user", "alice")]), [(REQUEST, None)])], False)
    store.log.close()  # type: ignore[union-attr]
    again = reopen()
    assert again.entities == {entity_of([("user", "alice")]): {PRODUCE: 100.0},
                              entity_of([("ip", None)]): {"connection_creation_rate": 5.0}}
    assert again.active and again.quota(PRODUCE, "alice", "x") == 100.0
    again.log.close()  # type: ignore[union-attr]

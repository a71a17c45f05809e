"""queued.max.request.bytes: the pool connections take request bytes from."""

from kafkalite.server.memory_pool import RequestMemoryPool


class Conn:
    def __init__(self) -> None:
        self.woken = 0

    def memory_available(self) -> None:
        self.woken += 1


def test_muted_connections_wake_when_the_pool_drops_below_capacity() -> None:
    pool = RequestMemoryPool(100)
    a, b = Conn(), Conn()
    pool.take(150)  # a grant may take the pool past its capacity (Kafka's non-strict pool)
    assert pool.exhausted
    pool.wait(a)
    pool.wait(b)
    pool.release(40)  # 110: still full
    assert (a.woken, b.woken) == (0, 0)
    pool.release(20)  # 90: every muted connection resumes, once
    assert (a.woken, b.woken) == (1, 1) and pool.muted == 0
    pool.release(90)
    assert (a.woken, b.woken) == (1, 1)
    assert pool.used == 0 and pool.peak == 150


def test_a_closed_connection_is_forgotten() -> None:
    pool = RequestMemoryPool(10)
    gone = Conn()
    pool.take(10)
    pool.wait(gone)
    pool.forget(gone)
    pool.release(10)
    assert gone.woken == 0

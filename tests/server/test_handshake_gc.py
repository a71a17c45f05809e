"""The collection after a burst of failed TLS handshakes: when it runs, and that it runs once per burst."""

from kafkalite.server.handshake_gc import BURST, FailedHandshakeCollector


def test_runs_one_handshake_timeout_after_a_burst_of_unfinished_handshakes() -> None:
    gc = FailedHandshakeCollector(handshake_timeout_s=3.0)
    gc.accepted, gc.completed = BURST - 1, 0
    gc.tick(0.0)
    gc.tick(100.0)
    assert gc.collections == 0  # fewer than a burst
    gc.accepted += 1
    gc.tick(1.0)  # a burst: due once they have all completed or timed out
    gc.tick(4.0)
    assert gc.collections == 0
    gc.tick(4.6)
    assert gc.collections == 1
    gc.tick(10.0)
    gc.tick(20.0)
    assert gc.collections == 1  # nothing new since


def test_completed_handshakes_do_not_count() -> None:
    gc = FailedHandshakeCollector(handshake_timeout_s=1.0)
    for second in range(10):
        gc.accepted += 100
        gc.completed += 100
        gc.tick(float(second))
    assert gc.collections == 0
    gc.accepted += BURST  # a flood begins
    gc.tick(10.0)
    gc.tick(11.6)
    assert gc.collections == 1

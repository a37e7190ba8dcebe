"""The pacer: virtual time to wall time, stop, lateness; and the summary the dispatcher builds."""

from __future__ import annotations

import threading

import pytest

from ffsim.transport.pacer import LATE_S, Lateness, Pacer


def test_speed_max_never_waits_and_keeps_no_schedule():
    pacer = Pacer(None)
    assert all(pacer.wait_until(t) for t in (0, 10, 1e12))
    assert pacer.lateness.count == 0


def test_a_stop_wakes_a_wait_for_a_far_moment():
    """A moment centuries away (beyond Event.wait's ceiling) is waited for in steps, and a
    stop from another thread ends the wait."""
    pacer = Pacer(1.0)
    result = []
    waiter = threading.Thread(target=lambda: result.append(pacer.wait_until(1e12)))
    waiter.start()
    pacer.stop()
    waiter.join(10)
    assert not waiter.is_alive() and result == [False]
    assert not pacer.wait_until(0)  # stopped stays stopped


def test_moments_already_due_are_handed_over_and_measured():
    pacer = Pacer(1000.0)
    pacer.start()
    assert pacer.wait_until(0.0) and pacer.wait_until(0.001)
    assert pacer.lateness.count == 2


def test_lateness_counts_late_packets_over_the_threshold():
    late = Lateness()
    for seconds in (-0.001, 0.0001, LATE_S / 2, LATE_S * 3, 0.5):
        late.add(seconds)
    d = late.as_dict()
    assert d["scheduled"] == 5 and d["late"] == 2 and d["max_ms"] == 500.0
    assert d["mean_ms"] == pytest.approx((0.0001 + LATE_S / 2 + LATE_S * 3 + 0.5) / 5 * 1000, abs=1e-3)


@pytest.mark.parametrize("speed", [0, -1, float("nan")])
def test_a_speed_must_be_positive(speed):
    with pytest.raises(ValueError):
        Pacer(speed)

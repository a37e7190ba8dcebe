"""The sans-I/O delivery policy on its own: outcomes are data, time is a number."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ffsim.transport import Message, Outcome
from ffsim.transport.policy import DeliveryQueue, Item, should_retry

OK = Outcome(True, "200", status=200)
REFUSED = Outcome(False, "refused")
FATAL = Outcome(False, "malformed URL", fatal=True)


def http(status: int) -> Outcome:
    return Outcome(200 <= status < 300, str(status), status=status)


def item(n: int) -> Item:
    return Item(Message(b"%d" % n, (), ""), {"n": n})


def n_of(it: Item) -> int:
    return it.label["n"]


@pytest.mark.parametrize("outcome, retry_on, retried", [
    (REFUSED, ("connection", "5xx", "408", "429"), True),
    (REFUSED, ("5xx",), False),
    (http(503), ("connection", "5xx", "408", "429"), True),
    (http(408), ("connection", "5xx", "408", "429"), True),
    (http(429), ("connection", "5xx", "408", "429"), True),
    (http(400), ("connection", "5xx", "408", "429"), False),
    (http(404), ("connection", "5xx", "408", "429"), False),
    (http(302), ("connection", "4xx", "5xx"), False),
    (http(400), ("connection", "4xx", "5xx"), True),
    (http(500), ("connection", "408"), False),
])
def test_what_is_retried(outcome, retry_on, retried):
    assert should_retry(outcome, retry_on) is retried


def test_a_rejected_event_is_counted_and_the_next_one_goes_at_once():
    q = DeliveryQueue()
    for n in range(3):
        q.offer(item(n))
    first = q.next_send(0.0)
    (reported,) = q.on_outcome(http(400), 0.0)
    assert reported[1].detail == "400 rejected" and reported[1].status == 400
    second = q.next_send(0.0)  # no backoff after a rejection: the receiver is there
    assert (n_of(first), n_of(second)) == (0, 1)
    q.on_outcome(OK, 0.0)
    assert n_of(q.next_send(0.0)) == 2
    q.on_outcome(OK, 0.0)
    assert (q.counters.sent, q.counters.rejected, q.counters.failed, q.counters.dropped, len(q)) == (2, 1, 1, 0, 0)


def test_a_retried_answer_backs_off_and_blocks_the_later_events():
    q = DeliveryQueue(backoff=(0.1, 0.4))
    q.offer(item(0))
    q.offer(item(1))
    delays = []
    now = 0.0
    for _ in range(5):
        assert n_of(q.next_send(now)) == 0
        (reported,) = q.on_outcome(http(503), now)
        assert "retrying" in reported[1].detail
        delays.append(q.wake_at() - now)
        assert q.next_send(now) is None  # the head waits its turn, the next one waits behind it
        now = q.wake_at()
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.4, 0.4])
    assert n_of(q.next_send(now)) == 0
    q.on_outcome(OK, now)
    assert q.wake_at() == float("-inf")  # after a success the next event goes at once
    assert q.counters.retried == 5 and q.counters.failed == 5


def test_without_buffer_a_retriable_failure_drops_but_a_refusal_rejects():
    q = DeliveryQueue(buffer=False)
    for n in range(2):
        q.offer(item(n))
    q.next_send(0.0)
    assert q.on_outcome(http(503), 0.0)[0][1].detail == "dropped: 503"
    q.next_send(0.0)
    q.on_outcome(http(400), 0.0)
    assert (q.counters.dropped, q.counters.rejected, len(q)) == (1, 1, 0)


def test_a_connection_failure_not_in_retry_on_drops():
    q = DeliveryQueue(retry_on=("5xx",))
    q.offer(item(0))
    q.next_send(0.0)
    assert q.on_outcome(REFUSED, 0.0)[0][1].detail == "dropped: refused"
    assert q.counters.dropped == 1 and q.idle


def test_fatal_stops_and_keeps_the_event():
    q = DeliveryQueue()
    q.offer(item(0))
    q.next_send(0.0)
    q.on_outcome(FATAL, 0.0)
    assert q.fatal == FATAL and q.wake_at() is None and q.next_send(1e9) is None
    assert [n_of(i) for i in q.pending()] == [0] and q.idle


def test_a_full_queue_never_drops_the_event_on_the_wire():
    q = DeliveryQueue(capacity=1)
    q.offer(item(0))
    q.next_send(0.0)
    (dropped,) = q.offer(item(1))  # nothing waits: the newcomer is the one dropped
    assert n_of(dropped[0]) == 1 and dropped[1].detail == "dropped: buffer full"
    q.on_outcome(OK, 0.0)
    assert q.counters.sent == 1 and q.idle


# -- every sequence of outcomes ------------------------------------------------------------
OUTCOMES = st.sampled_from([OK, http(201), REFUSED, Outcome(False, "reset"), Outcome(False, "timeout"),
                            http(500), http(503), http(408), http(429), http(400), http(404), http(302),
                            Outcome(True, "sent", unconfirmed=2)])
RETRY_ONS = st.sampled_from([("connection", "5xx", "408", "429"), ("connection", "4xx", "5xx"), ("5xx",), ()])
STEPS = st.lists(st.one_of(st.tuples(st.just("offer"), st.none()),
                           st.tuples(st.just("send"), OUTCOMES),
                           st.tuples(st.just("wait"), st.floats(0, 10))), max_size=80)


@settings(max_examples=400, deadline=None)
@given(steps=STEPS, retry_on=RETRY_ONS, buffer=st.booleans(), capacity=st.integers(1, 6),
       backoff=st.tuples(st.floats(0.01, 1), st.floats(1, 8)))
def test_any_outcome_sequence(steps, retry_on, buffer, capacity, backoff):
    q = DeliveryQueue(buffer, capacity, retry_on, backoff)
    now = 0.0
    offered = 0
    ended: dict[int, str] = {}  # event -> sent | rejected | dropped
    finals: list[int] = []  # events sent or rejected, in the order it happened
    unconfirmed = 0

    def settle(reports):
        for it, outcome in reports:
            n = n_of(it)
            if outcome.detail.startswith("dropped"):
                kind = "dropped"
            elif outcome.detail.endswith("rejected"):
                kind = "rejected"
            elif outcome.ok:
                kind = "sent"
            else:
                assert "retrying" in outcome.detail and buffer and should_retry(outcome, retry_on)
                continue
            assert n not in ended, "an event ended twice"
            ended[n] = kind
            if kind != "dropped":
                finals.append(n)

    for action, arg in steps:
        if action == "offer":
            settle(q.offer(item(offered)))
            offered += 1
        elif action == "wait":
            now += arg
        else:
            sending = q.next_send(now)
            due = q.wake_at()
            if sending is None:
                # nothing is due: either nothing waits, or its retry time is still ahead
                assert due is None or due > now
                continue
            assert due is None  # one event on the wire at a time
            settle(q.on_outcome(arg, now))
            unconfirmed += arg.unconfirmed
            if q.wake_at() is not None and q.wake_at() > now:
                # a backoff is within its bounds
                assert backoff[0] - 1e-9 <= q.wake_at() - now <= backoff[1] + 1e-9
        assert len(q) <= capacity
    pending = [n_of(i) for i in q.pending()]
    # nothing lost: every event ended exactly once, or is still buffered
    assert sorted(list(ended) + pending) == list(range(offered))
    assert not set(ended) & set(pending)
    # order kept: sent and rejected in offer order, the buffer in offer order, after them
    assert finals == sorted(finals) and pending == sorted(pending)
    assert not finals or not pending or finals[-1] < pending[0]
    c = q.counters
    kinds = list(ended.values())
    assert (c.sent, c.rejected, c.dropped) == (kinds.count("sent"), kinds.count("rejected"), kinds.count("dropped"))
    assert c.unconfirmed == unconfirmed
    assert len(q) == len(pending)


def test_a_cancelled_attempt_goes_back_to_the_head_uncounted():
    """A stop cut the attempt short: the event is neither sent nor failed, it stays first."""
    q = DeliveryQueue(capacity=5)
    for n in range(3):
        q.offer(item(n))
    first = q.next_send(0.0)
    q.on_cancel()
    assert [n_of(i) for i in q.pending()] == [0, 1, 2] and q.counters.failed == 0 and q.counters.sent == 0
    assert q.next_send(0.0) is first and first.attempts == 2
    with pytest.raises(RuntimeError):
        DeliveryQueue().on_cancel()


def test_latency_is_summed_over_deliveries_only():
    q = DeliveryQueue(capacity=5)
    for n in range(3):
        q.offer(item(n))
    q.next_send(0.0)
    q.on_outcome(Outcome(True, "200", status=200, latency_s=0.2), 0.2)
    q.next_send(0.2)
    q.on_outcome(Outcome(False, "503", status=503, latency_s=9.0), 9.2)  # retried: not a delivery
    q.next_send(20.0)
    q.on_outcome(Outcome(True, "200", status=200, latency_s=0.4), 20.4)
    c = q.counters
    assert c.timed == 2 and c.latency_total_s == pytest.approx(0.6) and c.latency_max_s == 0.4

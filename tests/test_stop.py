"""Stop works at every speed, in every state, within a second, with no traceback.

Runs at speed 1, 50 and max, against a receiver that answers, one that delays its
answer by 20 s and one that refuses, are stopped at a random moment (seeded), and each
must hand back a clean summary within a second in which every event of the scenario is
accounted for. FFSIM_STOP_ROUNDS sets the rounds per case (CI runs 30).
"""

from __future__ import annotations

import os
import random
import socket
import threading

import pytest

from ffsim import Receiver, Run, events, scenario_of


ROUNDS = int(os.environ.get("FFSIM_STOP_ROUNDS", "3"))

# Cars from t=0 on, one every 0.6 s, over HTTP and over TCP (per connection): at speed
# 1 the first sends fall inside the random stop window, at 50 and max many do. Two minutes of
# them: at max, a quiet machine delivered 40 s of them (450 events) inside the 0.4 s window.
SCENARIO = """\
version: 1
seed: 3
start: 2026-11-24T08:00:00Z
zones:
  - {id: 1, polygon: [[0, 0], [1920, 0], [1920, 1080], [0, 1080]], direction: 180}
traffic:
  - {zone: 1, rate: 6000/h, from: 0s, until: 120s, speed: [400, 800]}
profiles:
  - {id: 1, protocol: http, timeout: 30s}
  - {id: 2, protocol: tcp, timeout: 30s}
"""


class Holder:
    """A TCP receiver that accepts and then never reads nor closes (the TCP side of "delays")."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.target = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join()
        for conn in self.held:
            conn.close()


@pytest.fixture(scope="module")
def receivers():
    answering = Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", speed=None).start()
    delaying = Receiver(http="127.0.0.1:0", delay_s=20.0, speed=None).start()
    holder = Holder()
    closed = socket.socket()  # bound, never listening: refuses, and nothing else can take its port
    closed.bind(("127.0.0.1", 0))
    refused = closed.getsockname()[1]
    yield {
        "answers": (answering.http_url + "events", answering.tcp_address),
        "delays 20 s": (delaying.http_url + "events", holder.target),
        "refuses": (f"http://127.0.0.1:{refused}/events", f"127.0.0.1:{refused}"),
    }
    answering.stop()
    delaying.stop()
    holder.close()
    closed.close()


@pytest.fixture
def no_thread_errors():
    """Exceptions in any thread (a traceback printed by threading) fail the test."""
    errors = []
    previous = threading.excepthook
    threading.excepthook = lambda args: errors.append(args)
    yield errors
    threading.excepthook = previous
    assert not errors, [f"{e.thread.name}: {e.exc_type.__name__}: {e.exc_value}" for e in errors]


def with_targets(http_url: str, tcp_target: str):
    base = scenario_of(SCENARIO)
    import dataclasses

    profiles = tuple(dataclasses.replace(p, url=http_url if p.protocol == "http" else tcp_target)
                     for p in base.profiles)
    return dataclasses.replace(base, profiles=profiles)


@pytest.mark.parametrize("speed", [1, 50, "max"])
@pytest.mark.parametrize("kind", ["answers", "delays 20 s", "refuses"])
def test_a_run_stops_within_a_second_with_a_clean_summary(receivers, no_thread_errors, kind, speed):
    scenario = with_targets(*receivers[kind])
    total = {"1": 0, "2": 0}
    for packet in events(scenario):
        total[str(packet.profile)] += 1
    rng = random.Random(f"{kind}-{speed}")
    for round_ in range(ROUNDS):
        moment = rng.uniform(0.0, 0.4)
        run = Run(scenario, speed=speed, drain=60).start()
        assert run.wait(timeout=moment) is None, "the run ended by itself: it was to be stopped"
        run.runner.stop()  # the stop itself; the summary must follow within a second
        summary = run.wait(timeout=1.0)
        assert summary is not None, f"round {round_}: no summary 1 s after stop (stopped at {moment:.3f} s)"
        assert summary.interrupted and summary.fatal is None and not summary.delivered_all
        if kind == "refuses":
            assert all(p["sent"] == 0 for p in summary.profiles.values())
        # every event of the scenario is accounted for: sent, rejected, dropped, buffered or not sent
        assert summary.not_sent is not None
        for name, c in summary.profiles.items():
            accounted = c["sent"] + c["rejected"] + c["dropped"] + c["buffered"] + summary.not_sent[name]
            assert accounted == total[name], (round_, name, c, summary.not_sent)
        assert not run.running


def test_stop_before_start_releases_everything_and_a_run_plays_once(receivers):
    scenario = with_targets(*receivers["answers"])
    before = threading.active_count()
    run = Run(scenario)
    assert threading.active_count() > before  # a delivery thread per profile
    assert run.stop() is None and run.stop() is None
    assert threading.active_count() == before
    with pytest.raises(RuntimeError, match="plays once"):
        run.start()
    played = Run(scenario, until=1)
    played.play()
    with pytest.raises(RuntimeError, match="plays once"):
        played.play()
    with pytest.raises(RuntimeError, match="plays once"):
        played.start()


def test_a_run_with_its_own_receiver_not_played_leaves_nothing_behind():
    before = threading.active_count()
    for _ in range(3):
        with Run(SCENARIO) as run:  # no target: a built-in receiver
            assert run.embedded
            pass
    assert threading.active_count() == before


def test_on_attempt_may_stop_the_run_and_its_exception_ends_the_run(receivers):
    """on_attempt runs in a delivery thread without its lock: it may call stop() (no deadlock,
    with two profiles), and what it raises stops the run and comes out of play()/wait()."""
    scenario = with_targets(*receivers["answers"])
    stopped = []

    def stop_at_once(attempt):
        stopped.append(run.stop())

    run = Run(scenario, on_attempt=stop_at_once).start()
    summary = run.wait(timeout=5)
    assert summary is not None and summary.interrupted and stopped and stopped[0] is None

    def fails(attempt):
        raise AssertionError("the receiver's answer was wrong")

    run = Run(scenario, on_attempt=fails)
    with pytest.raises(AssertionError, match="answer was wrong"):
        run.play()
    assert run.summary.interrupted
    run = Run(scenario, on_attempt=fails).start()
    with pytest.raises(AssertionError, match="answer was wrong"):
        run.wait(timeout=5)


def test_a_stop_while_waiting_for_room_drops_nothing(receivers, no_thread_errors):
    """Speed max, a buffer of 2 and a receiver that delays: the producer waits for room; a stop
    then leaves the waiting event not sent, it does not drop the oldest for it."""
    import dataclasses

    scenario = with_targets(*receivers["delays 20 s"])
    scenario = dataclasses.replace(scenario, profiles=tuple(dataclasses.replace(p, buffer_size=2)
                                                             for p in scenario.profiles[:1]))
    run = Run(scenario, speed="max").start()
    assert run.wait(timeout=0.5) is None
    summary = run.stop()
    assert summary.profiles["1"]["dropped"] == 0 and summary.profiles["1"]["buffered"] == 2
    assert not [a for a in run.attempts if a.dropped]


@pytest.mark.parametrize("protocol", ["http", "tcp"])
def test_stopping_a_delivery_inside_a_send_aborts_it_and_closes_the_transport(protocol, no_thread_errors):
    """Defect: Delivery.stop() waited 5 s for a send to a receiver that does not answer, then
    left the thread inside libcurl (closing the handle under it raised pycurl.error)."""
    from ffsim.scenario.model import Profile
    from ffsim.transport import Message
    from ffsim.transport.delivery import Delivery, Item
    from ffsim.transport.http import HttpTransport
    from ffsim.transport.tcp import TcpTransport

    from .servers import wait_for

    holder = Holder()
    try:
        if protocol == "http":
            url = "http://" + holder.target + "/events"
            transport = HttpTransport(Profile(id=1, protocol="http", url=url, format="json"), url)
        else:
            transport = TcpTransport(Profile(id=1, protocol="tcp", url=holder.target), holder.target)
        delivery = Delivery(1, transport)
        delivery.offer(Item(Message(b'{"packetCounter": "1"}\n', (), "event.json"), {}))
        wait_for(lambda: holder.held, 10, "the connection")
        stopper = threading.Thread(target=delivery.stop, kwargs={"abort": True})
        stopper.start()
        stopper.join(1.0)
        assert not stopper.is_alive(), "stop() still waiting 1 s later"
        assert delivery.counters.sent == 0 and len(delivery.pending()) == 1  # still buffered, not counted failed
        assert delivery.counters.failed == 0
    finally:
        holder.close()


def test_stopping_a_day_of_traffic_does_not_count_the_rest_of_the_day(receivers, no_thread_errors):
    """Counting the 100,000 events of the day not sent would hold the summary up for a second
    or more: past a budget the rest is "not counted" (None)."""
    import ffsim

    busy = ffsim.scenario_of(ffsim.bundled("busy-road")).retargeted(None, receivers["answers"][1])
    run = Run(busy, speed="max").start()
    run.wait(timeout=0.3)
    run.runner.stop()
    summary = run.wait(timeout=1.0)
    assert summary is not None and summary.interrupted
    assert summary.not_sent is None and "not counted" in summary.not_sent_text()


def test_ctrl_c_in_a_library_script_stops_the_run_and_is_raised_again():
    """A script (or a pytest session) playing a run in its own thread: Ctrl-C must end it, not be
    swallowed by the run."""
    import signal
    import subprocess
    import sys

    script = ("import ffsim, sys\n"
              "def seen(a):\n"
              "    print('attempt', flush=True)\n"
              "try:\n"
              "    ffsim.run(ffsim.bundled('parking-gate'), speed=1, on_attempt=seen)\n"
              "except KeyboardInterrupt:\n"
              "    print('interrupted', flush=True)\n"
              "    sys.exit(130)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "attempt\n"  # the first packet went (t = 2 s): the run is on
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130 and out.endswith("interrupted\n") and "Traceback" not in err

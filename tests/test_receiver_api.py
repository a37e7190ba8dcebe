"""The built-in receiver as a test's server (like pytest-httpserver's): url and tcp_address to
send to, records, violations and notices as snapshots, wait() for what is to come without
polling, check() as the test's verdict, clear() between tests. Real HTTP and TCP on
127.0.0.1; no fixed sleeps: every wait is on a condition."""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.request

import pytest

from ffsim.receiver.server import Receiver
from ffsim.receiver.validate import Validator

from .field_payloads import payload, wire


def post(rx: Receiver, p: dict, path: str = "x") -> int:
    request = urllib.request.Request(rx.url + path, data=wire(p), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


def tcp_send(rx: Receiver, *documents: dict) -> None:
    host, port = rx.tcp_address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"\n".join(wire(p) for p in documents))


def news(count: int, first: int = 1, device: str = "PRG-82") -> list[dict]:
    """count passages' New events of one camera, its counters running on: no violation."""
    return [payload("2024-lpv", "new", n, n, device=device) for n in range(first, first + count)]


class Running(threading.Thread):
    """A thread whose failure fails the test: finish() joins it and raises what it raised."""

    def __init__(self, function, *args):
        super().__init__(daemon=True)
        self.function, self.args, self.error, self.result = function, args, None, None
        self.start()

    def run(self):
        try:
            self.result = self.function(*self.args)
        except BaseException as exc:  # handed to finish()
            self.error = exc

    def finish(self, timeout: float = 30.0):
        self.join(timeout)
        assert not self.is_alive(), f"{self.function.__name__} still running after {timeout:g} s"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture
def rx():
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0") as receiver:
        yield receiver


def test_url_and_tcp_address_name_where_it_listens(rx):
    assert rx.url == rx.http_url and rx.url.startswith("http://127.0.0.1:") and rx.url.endswith("/")
    assert rx.tcp_address.startswith("127.0.0.1:") and int(rx.tcp_address.rsplit(":", 1)[1]) > 0
    with Receiver(http=None, tcp="127.0.0.1:0") as tcp_only:
        assert tcp_only.url is None and tcp_only.http_url is None


def test_wait_count_over_http_and_tcp(rx):
    for p in news(3):
        assert post(rx, p) == 200
    assert rx.wait(3, timeout=10) is True  # HTTP answers once stored: at once
    tcp_send(rx, *news(4, device="TCP-1"))  # stored after the close, while this test goes on
    assert rx.wait(count=7, timeout=10) is True
    assert rx.packets == 7 and [r.protocol for r in rx.records] == ["http"] * 3 + ["tcp"] * 4
    assert [r.payload["carID"] for r in rx.records] == ["1", "2", "3", "1", "2", "3", "4"]
    assert rx.violations == [] and rx.check() is None


def test_wait_until_a_predicate_over_the_records(rx):
    def lost_of_car_2(records):
        return any(r.payload["carState"] == "lost" and r.payload["carID"] == "2" for r in records)

    tcp_send(rx, payload("2024-lpv", "new", 1, 2), payload("2024-lpv", "update", 2, 2),
             payload("2024-lpv", "lost", 3, 2))
    assert rx.wait(until=lost_of_car_2, timeout=10) is True
    assert [r.payload["carState"] for r in rx.records] == ["new", "update", "lost"]
    # both given: both must hold
    assert rx.wait(count=3, until=lost_of_car_2, timeout=10) is True
    assert rx.wait(count=4, until=lost_of_car_2, timeout=0.05) is False


def test_a_timeout_returns_false_quickly_or_raises_when_asked(rx):
    began = time.monotonic()
    assert rx.wait(1, timeout=0.2) is False
    assert 0.2 <= time.monotonic() - began < 2.0
    assert post(rx, news(1)[0]) == 200
    assert rx.wait() is True  # neither count nor until: one packet
    with pytest.raises(AssertionError) as failed:
        rx.wait(2, timeout=0.05, raise_on_timeout=True)
    text = str(failed.value)
    assert "waited for 2 packet(s): 0.05 s passed with 1 packet(s) received since the last clear()" in text
    assert 'packet 1 (http /x from 127.0.0.1, carState "new", carID "1", packetCounter "1")' in text

    def never(records):
        return False

    with pytest.raises(AssertionError, match="waited for until=never: 0.05 s passed"):
        rx.wait(until=never, timeout=0.05, raise_on_timeout=True)


def test_a_wait_ends_when_the_receiver_stops():
    rx = Receiver(http="127.0.0.1:0").start()
    waiting = Running(rx.wait, 5, None, 60)
    began = time.monotonic()
    rx.stop()
    assert waiting.finish(10) is False and time.monotonic() - began < 10


def test_check_names_the_violation_and_its_packet_and_passes_good_traffic(rx):
    for p in news(2):
        assert post(rx, p, "good") == 200
    assert rx.check() is None
    assert post(rx, payload("2024-lpv", "new", 3, 3, plateConfidence="high"), "bad") == 200
    tcp_send(rx, payload("2024-lpv", "new", 1, 1, device="TCP-1"), payload("2024-lpv", "new", 5, 2, device="TCP-1"))
    assert rx.wait(5, timeout=10)
    with pytest.raises(AssertionError) as failed:
        rx.check()
    lines = str(failed.value).splitlines()
    assert lines[0] == "2 violation(s) received:"
    assert lines[1].startswith('packet 3 (http /bad from 127.0.0.1, carState "new", carID "3", packetCounter "3"): '
                               "format: plateConfidence")
    # the skipped counters might have come late (out of order): a violation once none did, here at the end
    assert lines[2] == "at the end: counter: sender 127.0.0.1|TCP-1: profile 1: packets 2-4 never arrived", lines[2]
    assert len(lines) == 3


def test_check_counts_violations_of_packets_no_longer_kept():
    with Receiver(http="127.0.0.1:0", max_records=2) as rx:
        for n in (1, 2, 3, 4):  # packets 2 and 3 have a violation each
            bad = {"plateConfidence": "high"} if n in (2, 3) else {}
            assert post(rx, payload("2024-lpv", "new", n, n, **bad)) == 200
        assert rx.wait(4, timeout=10) and rx.packets == 4 and rx.forgotten_records == 2
        assert [r.payload["packetCounter"] for r in rx.records] == ["3", "4"]  # the latest kept
        with pytest.raises(AssertionError) as failed:
            rx.check()
    lines = str(failed.value).splitlines()
    assert lines[0] == "2 violation(s) received:"
    assert lines[1].startswith("packet 3 (") and "format: plateConfidence" in lines[1]
    assert lines[2] == "... and 1 in 2 older packet(s) no longer kept (max_records)"


def test_clear_starts_clean_and_the_receiver_goes_on_listening(rx):
    assert post(rx, news(1)[0]) == 200
    assert post(rx, payload("2024-lpv", "new", 2, 2, plateConfidence="high")) == 200
    tcp_send(rx, *news(2, device="TCP-1"))
    assert rx.wait(4, timeout=10)
    assert rx.violations and rx.summary()["packets"] == 4
    rx.clear()
    assert rx.records == [] and rx.violations == [] and rx.notices == [] and rx.packets == 0
    summary = rx.summary()
    assert summary["packets"] == 0 and summary["violations"] == 0 and summary["senders"] == {}
    assert summary["cameras"] == {} and summary["rules"] == {"violations": {}, "notices": {}}
    rx.check()
    assert rx.wait(1, timeout=0.05) is False  # counted since the clear
    # the validator forgot each camera: counters going on from before the clear are no gap
    assert post(rx, payload("2024-lpv", "new", 3, 3)) == 200
    tcp_send(rx, payload("2024-lpv", "new", 3, 3, device="TCP-1"))
    assert rx.wait(2, timeout=10)
    assert [r.protocol for r in rx.records] == ["http", "tcp"]
    rx.check()


def test_records_violations_and_notices_are_snapshots(rx):
    assert post(rx, payload("2024-lpv", "update", 11890300, 9)) == 200  # a passage begun before: a notice
    records, notices = rx.records, rx.notices
    assert len(records) == 1 and len(notices) == 1
    records.clear()
    notices.clear()
    assert len(rx.records) == 1 and len(rx.notices) == 1  # the receiver's own are untouched
    rx.clear()
    assert len(records) == 0 and rx.records == []


def test_clear_from_on_record_does_not_deadlock():
    seen: list[str] = []

    def on_record(record):
        seen.append(record.payload["carID"])
        if record.payload["carID"] == "2":
            holder[0].clear()  # in the worker thread, between two packets

    holder: list[Receiver] = []
    with Receiver(http="127.0.0.1:0", on_record=on_record) as rx:
        holder.append(rx)
        for p in news(3):
            assert post(rx, p) == 200
        assert rx.wait(1, timeout=10)
        assert [r.payload["carID"] for r in rx.records] == ["3"] and seen == ["1", "2", "3"]


def test_waiting_threads_wake_as_packets_arrive_from_many_senders(rx):
    senders, each = 4, 10
    total = senders * each
    waiters = {n: Running(rx.wait, n, None, 30) for n in (1, total // 2, total)}

    def read():  # reads while the worker stores: every snapshot is whole, and counts only grow
        seen = []
        while True:
            records = rx.records
            assert rx.packets >= len(records) and all(r.payload is not None for r in records)
            seen.append(len(records))
            if len(records) >= total:
                return seen
            assert rx.wait(len(records) + 1, timeout=30)

    def send(index):
        for p in news(each, device=f"CAM-{index}"):
            if index % 2:
                assert post(rx, p) == 200
            else:
                tcp_send(rx, p)

    reader = Running(read)
    for sender in [Running(send, i) for i in range(senders)]:
        sender.finish()
    assert {n: waiter.finish() for n, waiter in waiters.items()} == {1: True, total // 2: True, total: True}
    seen = reader.finish()
    assert seen == sorted(seen) and seen[-1] == total
    assert rx.packets == total and len(rx.records) == total
    rx.check()
    by_camera = {}
    for record in rx.records:
        by_camera.setdefault(record.payload["sensorProviderID"], []).append(record.payload["packetCounter"])
    assert by_camera == {f"CAM-{i}": [str(n) for n in range(1, each + 1)] for i in range(senders)}


def test_clear_while_packets_arrive_keeps_the_counts_consistent(rx):
    stop = threading.Event()

    def send():
        n = 0
        while not stop.is_set():
            n += 1
            assert post(rx, payload("2024-lpv", "new", n, n, plateConfidence="high" if n % 3 == 0 else "0.9")) == 200
        return n

    sender = Running(send)
    try:
        for _ in range(5):
            assert rx.wait(rx.packets + 2, timeout=10)
            rx.clear()
    finally:
        stop.set()
        sent = sender.finish()
    records = rx.records
    assert sent >= 10 and rx.packets == len(records) and rx.violation_count == len(rx.violations)
    assert sum(len(r.violations) for r in records) == len(rx.violations)
    assert rx.summary()["packets"] == len(records)


def test_the_validator_gets_the_time_a_packet_arrived_not_the_time_it_was_checked(rx, monkeypatch):
    """The server reads the clock when a request (its head) or a TCP read arrives and hands that
    to the validator; a packet waiting for the worker keeps its arrival time."""
    arrivals: list[float] = []

    class Recording(Validator):
        def check(self, payload, sender, raw=None, images=None, arrival_s=None, number=None):
            arrivals.append(arrival_s)
            return super().check(payload, sender, raw, images, arrival_s, number)

    rx.validator = Recording(5.0)
    handed = threading.Semaphore(0)
    submit = rx._pool.submit

    def counting_submit(*args, **kwargs):
        future = submit(*args, **kwargs)
        handed.release()
        return future

    monkeypatch.setattr(rx._pool, "submit", counting_submit)
    gate = threading.Event()
    rx._pool.submit(gate.wait, 30)  # the worker is busy
    assert handed.acquire(timeout=10)
    sent_mono, sent_wall = time.monotonic(), time.time()
    http = Running(post, rx, news(1)[0])
    tcp_send(rx, news(1, device="TCP-1")[0])
    assert handed.acquire(timeout=10) and handed.acquire(timeout=10)  # both handed to the worker, waiting
    released_mono, released_wall = time.monotonic(), time.time()
    gate.set()
    assert http.finish() == 200 and rx.wait(2, timeout=10)
    assert len(arrivals) == 2 and all(sent_mono <= a <= released_mono for a in arrivals), \
        (sent_mono, arrivals, released_mono)
    assert all(sent_wall <= r.arrival <= released_wall for r in rx.records)

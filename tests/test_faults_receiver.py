"""The receiver recognises a camera's bad day (faults on purpose, design section 4): a re-send
names the packet it repeats, a reorder is a notice and a packet that never came a violation,
a restart is one notice, a clock step one notice with no Lost timing violation after it, a
body cut short one line; each payload fault is one finding. Through Validator.check with
made-up arrival times, and through the real receiver on loopback."""

from __future__ import annotations

import json
import re
import socket
import struct

import pytest

from ffsim.receiver.server import Receiver
from ffsim.receiver.validate import (NOTICE, REORDER_PACKETS, VIOLATION, Validator, format_datetime,
                                    parse_datetime)

from .field_payloads import T0, jpeg, passage, payload, wire
from .test_receiver import multipart, post


def check(v, p, arrival_s=None, number=None, sender="cam", raw=None, images=None):
    found = v.check(json.loads(raw) if raw is not None else p, sender, raw if raw is not None else wire(p),
                    images, arrival_s, number)
    return [(f.severity, str(f)) for f in found]


def stream(events):
    """(payload, sender ms) of passages, numbered 1, 2, ... as one profile sends them."""
    events = sorted(events, key=lambda e: e[1])
    return [(dict(p, packetCounter=str(i + 1)), t) for i, (p, t) in enumerate(events)]


def play(v, events, order=None, shift=None):
    """Feed events (in order: indices) arriving at sender time (rate 1) from 100 s; shift: index ->
    ms added to the payload's times from that event on (a clock step). All findings."""
    out = []
    for i in order if order is not None else range(len(events)):
        p, sent = events[i]
        offset = sum(ms for at, ms in (shift or {}).items() if i >= at)
        if offset:
            p = dict(p, capture_timestamp=str(int(p["capture_timestamp"]) + offset))
            p["capture_ts"] = p["capture_timestamp"] + "000000"
            if p["carState"] != "lost":
                p["frame_timestamp"] = str(int(p["frame_timestamp"]) + offset * 1000)
            wall, _ = parse_datetime(p["datetime"])  # the camera's local time follows its clock
            p["datetime"] = format_datetime(wall + offset)
        out += check(v, p, 100 + (sent - events[0][1]) / 1000, i + 1)
    return out


# -- duplicate ----------------------------------------------------------------------------
def test_a_re_send_names_the_packet_it_repeats_and_when_it_came():
    v = Validator(speed=None)
    new, update = payload("2024-lpv", "new", 17, 5), payload("2024-lpv", "update", 18, 5)
    assert check(v, new, 10.0, 42) == [] and check(v, update, 11.0, 43) == []
    found = v.check(new, "cam", wire(new), None, 13.2, 44)
    assert [(f.severity, f.rule, f.message, f.original) for f in found] == [
        (NOTICE, "duplicate", "profile 1: packet 17 received again, the same bytes as arrival #42 (3.2 s earlier): "
                              "a re-send after a timeout?", 42)]
    assert check(v, payload("2024-lpv", "update", 19, 5), 13.5, 45) == []  # counting goes on from the original
    # no number and no time given: the notice says less, the rule is the same
    v = Validator(speed=None)
    assert check(v, new) == []
    assert check(v, new) == [(NOTICE, "duplicate: profile 1: packet 17 received again, the same bytes: a re-send "
                                      "after a timeout?")]


# -- reorder ------------------------------------------------------------------------------
def test_a_packet_held_back_is_a_notice_and_so_is_what_it_does_to_a_passage_no_violation():
    events = stream(passage("2024-lpv", 7, T0, 1) + passage("2024-lpv", 8, T0 + 20_000, 1))
    v = Validator(lost_timeout_s=5, speed=1.0)
    order = [0, 2, 1, 3, 5, 6, 4, 7]  # packet 2 after 3; packet 5 (a New) after two later ones (window 3)
    found = play(v, events, order)
    assert found == [
        (NOTICE, "counter: profile 1: packet 2 arrived after 3 (out of order)"),
        (NOTICE, "lifecycle: carID 8: first event is update, not new (carID 7 had its New) (out of order: packet 5 "
                 "not yet received)"),
        (NOTICE, "counter: profile 1: packet 5 arrived after 7 (out of order)"),
        (NOTICE, "lifecycle: carID 8: a second New (out of order: packet 5 arrived after 7)")]
    assert [f for f in v.open_passages()] == []


def test_a_new_after_its_update_and_an_update_after_its_lost_are_notices_while_out_of_order():
    events = stream(passage("2024-lpv", 7, T0, 1) + passage("2024-lpv", 8, T0 + 20_000, 1))
    v = Validator(speed=None)
    # passage 8: Update (6) first, its New (5) later; passage 7's Update (3) after its Lost (4)
    found = play(v, events, [0, 1, 3, 2, 5, 4, 6, 7])
    assert found == [
        (NOTICE, "counter: profile 1: packet 3 arrived after 4 (out of order)"),
        (NOTICE, "lifecycle: carID 7: update after its Lost (out of order: packet 3 arrived after 4)"),
        (NOTICE, "lifecycle: carID 8: first event is update, not new (carID 7 had its New) (out of order: "
                 "packet 5 not yet received)"),
        (NOTICE, "counter: profile 1: packet 5 arrived after 6 (out of order)"),
        (NOTICE, "lifecycle: carID 8: a second New (out of order: packet 5 arrived after 6)")]
    assert [str(f) for f in v.open_passages()] == []


def test_a_packet_that_never_comes_is_one_violation_once_the_window_has_passed_or_at_the_end():
    v = Validator(speed=None)
    found = []
    for counter in [1, 2, 5] + list(range(6, 6 + REORDER_PACKETS)):
        found += check(v, payload("2024-lpv", "update", counter, 3))
    assert [f for f in found if f[0] == VIOLATION] == [(VIOLATION, "counter: profile 1: packets 3-4 never arrived")]
    v = Validator(speed=None)
    for counter in (1, 2, 4):
        assert check(v, payload("2024-lpv", "update", counter, 3)) == [] or counter == 1
    assert [(f.severity, str(f)) for f in v.open_passages() if f.rule == "counter"] == [
        (VIOLATION, "counter: sender cam: profile 1: packet 3 never arrived")]


# -- restart ------------------------------------------------------------------------------
def test_a_restart_is_one_notice_and_the_passages_it_cut_end_there():
    v = Validator(speed=None)
    before = [(5117, 309, "new"), (5118, 310, "new"), (5119, 311, "new"), (5120, 309, "lost")]
    for counter, car, state in before:
        check(v, payload("2024-lpv", state, counter, car))
    found = check(v, payload("2024-lpv", "new", 1, 1)) + check(v, payload("2024-lpv", "update", 2, 1))
    assert found == [(NOTICE, "counter: profile 1: restart: packetCounter back to 1 after 5120 and carIDs back to 1 "
                              "after 311: 2 passages ended without a Lost (the camera restarted)")]
    assert check(v, payload("2024-lpv", "lost", 3, 1)) == []
    assert v.open_passages() == []  # 310 and 311 ended with the restart: not reported again
    assert v.sender_summary()["cam"]["open_passages"] == 0


def test_a_counter_back_while_car_ids_go_on_is_one_violation():
    v = Validator(speed=None)
    for counter, car, state in [(5119, 310, "new"), (5120, 311, "new")]:
        check(v, payload("2024-lpv", state, counter, car))
    found = check(v, payload("2024-lpv", "new", 1, 312)) + check(v, payload("2024-lpv", "update", 2, 311))
    assert found == [(VIOLATION, "counter: profile 1: packetCounter back to 1 after 5120 but carIDs go on "
                                 "(312 after 311): not a restart")]
    assert check(v, payload("2024-lpv", "lost", 3, 311)) == []  # still the same passages


def test_a_counter_back_with_no_car_id_since_is_a_notice_at_the_end():
    v = Validator(speed=None)
    check(v, payload("2024-lpv", "new", 900, 300))
    check(v, payload("2024-lpv", "update", 901, 300))
    assert check(v, payload("2024-lpv", "update", 1, 300)) == []  # a passage of before: no new carID yet
    assert [(f.severity, str(f)) for f in v.open_passages()] == [
        (NOTICE, "lifecycle: sender cam: profile 1 carID 300 had a New but no Lost (yet: the sender's last packet "
                 "came 0 s after its last event)"),
        (NOTICE, "counter: sender cam: profile 1: packetCounter back to 1 after 901, and no new carID since to "
                 "tell a restart by")]


# -- clock step ---------------------------------------------------------------------------
def traffic(passages=10, gap_ms=15_000):
    events = []
    for i in range(passages):
        events += passage("2024-lpv", 1000 + i, T0 + i * gap_ms, 1, lost_after_ms=5200)
    return stream(events)


@pytest.mark.parametrize("step_ms, words", [(3_600_000, "+3600 s"), (-30_000, "-30 s")])
def test_a_clock_step_is_one_notice_and_no_lost_timing_violation(step_ms, words):
    events = traffic()
    at = next(i for i, (p, _) in enumerate(events) if p["carID"] == "1005" and p["carState"] == "new")
    v = Validator(lost_timeout_s=5, speed=1.0)
    found = play(v, events, shift={at: step_ms})
    assert found == [(NOTICE, f"timestamps: the sender's clock stepped by about {words} (its capture times "
                              "against arrival times): the Lost timing learns its clock again")]
    assert v.sender_summary()["cam"]["lost_timing"]["checked"] >= 5  # timed before and after the step


def test_a_lost_timed_across_a_step_back_is_not_timed():
    """The step comes while a passage waits for its Lost: its last event is of the old clock."""
    events = traffic()
    at = next(i for i, (p, _) in enumerate(events) if p["carID"] == "1005" and p["carState"] == "lost")
    v = Validator(lost_timeout_s=5, speed=1.0)
    found = play(v, events, shift={at + 1: -30_000})  # from the New after that Lost
    assert [f for f in found if f[0] == VIOLATION] == []
    assert [f[1].split(" (")[0] for f in found] == ["timestamps: the sender's clock stepped by about -30 s"]


def test_a_buffer_emptied_at_once_is_no_clock_step():
    """An outage, then the held packets all at once: they lie off the line for a moment only."""
    events = traffic(14)
    v = Validator(lost_timeout_s=5, speed=1.0)
    arrival = {i: 100 + (t - events[0][1]) / 1000 for i, (_, t) in enumerate(events)}
    held = [i for i in arrival if 160 <= arrival[i] < 190]
    for i in held:
        arrival[i] = 190 + 0.001 * held.index(i)
    found = []
    for i, (p, _) in enumerate(events):
        found += check(v, p, arrival[i], i + 1)
    assert not any("clock stepped" in text for _, text in found)


# -- payload faults: one finding each --------------------------------------------------------
def test_each_payload_fault_is_one_finding():
    image = jpeg()
    cases = {
        "empty_image": ([("image/jpeg", b"")], None),
        "undecodable_image": ([("image/jpeg", b"\xff\xd8\xff" + bytes(range(256)) * 4)], None),
        "missing_field": (None, dict(payload("2024-lpv", "update", 2, 1), plateUTF8=None)),
        "wrong_type": (None, dict(payload("2024-lpv", "update", 2, 1), carID=1)),
    }
    for name, (images, changed) in cases.items():
        v = Validator(speed=None)
        first = payload("2024-lpv", "new", 1, 1)
        assert check(v, first, images=[("image/jpeg", image)]) == []
        p = changed if changed is not None else payload("2024-lpv", "update", 2, 1)
        if name == "missing_field":
            p.pop("plateUTF8")
        found = check(v, p, images=images)
        assert len(found) == 1 and found[0][0] == VIOLATION, (name, found)
        assert found[0][1].split(":")[0] == {"empty_image": "image", "undecodable_image": "image",
                                             "missing_field": "keys", "wrong_type": "type"}[name], (name, found)


def test_invalid_utf8_in_the_plate_is_one_json_violation():
    v = Validator(speed=None)
    raw = wire(payload("2024-lpv", "new", 1, 1, plate="1AB123")).replace(b'"plateUTF8": "1AB123"',
                                                                       b'"plateUTF8": "1AB\xff23"')
    from ffsim.receiver.validate import decode
    p, found = decode(raw)
    found += v.check(p, "cam", raw)
    assert [(f.severity, f.rule) for f in found] == [(VIOLATION, "json")], found


def test_a_multipart_body_without_its_image_is_a_notice_where_the_profile_sends_images():
    v = Validator(speed=None)
    assert check(v, payload("2024-lpv", "new", 1, 1), images=[("image/jpeg", jpeg())]) == []
    assert check(v, payload("2024-lpv", "update", 2, 1), images=[]) == [
        (NOTICE, "image: imageType 'vehicle' names an image but no image part came, where profile 1 sent images "
                 "before (the camera's skip image?)")]
    v = Validator(speed=None)  # a profile set up to send no image: nothing to note
    assert check(v, payload("2024-lpv", "new", 1, 1), images=[]) == []


# -- on loopback ------------------------------------------------------------------------------
def test_a_re_send_over_http_names_its_original_in_the_notice_and_in_packets_jsonl(tmp_path):
    first, second = payload("2024-lpv", "new", 7000, 5), payload("2024-lpv", "update", 7001, 5)
    with Receiver(out=tmp_path, speed=None) as rx:
        for p in (first, second):
            assert post(rx.http_url + "x", multipart(p, [("image/jpeg", jpeg())]), "multipart/form-data; boundary=B") \
                == 200
        assert post(rx.http_url + "x", multipart(first, [("image/jpeg", jpeg())]),
                    "multipart/form-data; boundary=B") == 200
        rx.wait(3, timeout=20, raise_on_timeout=True)
    assert rx.violations == []
    assert len(rx.notices) == 1 and rx.notices[0].startswith(
        "duplicate: profile 1: packet 7000 received again, the same bytes as arrival #1 (")
    assert [r.duplicate_of for r in rx.records] == [None, None, 1]
    lines = [json.loads(line) for line in (tmp_path / "packets.jsonl").read_text().splitlines()]
    assert [line.get("duplicate_of") for line in lines] == [None, None, 1]


def test_a_re_send_over_tcp_with_worker_processes_names_its_original():
    first = payload("2024-lpv", "new", 7000, 5)
    with Receiver(http=None, tcp="127.0.0.1:0", speed=None, processes=2) as rx:
        host, port = rx.tcp_address.rsplit(":", 1)
        for p in (first, payload("2024-lpv", "update", 7001, 5), first):
            with socket.create_connection((host, int(port)), timeout=20) as s:
                s.sendall(wire(p))
            rx.wait(until=lambda records, n=p: len(records) >= 1 and records[-1].payload == n, timeout=20,
                    raise_on_timeout=True)
        rx.wait(3, timeout=20, raise_on_timeout=True)
    assert [r.number for r in rx.records] == [1, 2, 3]
    assert [r.duplicate_of for r in rx.records] == [None, None, 1]
    assert rx.notices[0].startswith("duplicate: profile 1: packet 7000 received again, the same bytes as arrival #1")


def cut_request(url: str, body: bytes, keep: int, reset: bool) -> None:
    """Send a request whose body stops after keep bytes: then FIN (or RST with reset)."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    s = socket.create_connection((host, int(port)), timeout=20)
    s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % len(body) + body[:keep])
    if reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    else:
        s.shutdown(socket.SHUT_WR)
        s.recv(1000)  # the receiver's answer (or its close): it has read what came
    s.close()


@pytest.mark.parametrize("reset, how", [(False, "closed"), (True, "reset")])
def test_a_body_cut_short_is_one_line_and_the_retry_is_a_packet(tmp_path, capfd, reset, how):
    p = payload("2024-lpv", "new", 1, 1)
    body = wire(p)
    with Receiver(out=tmp_path, speed=None) as rx:
        cut_request(rx.http_url, body, 812, reset)
        rx.wait(1, timeout=20, raise_on_timeout=True)
        assert post(rx.http_url + "x", body, "application/json") == 200  # the camera sends it again, whole
        rx.wait(2, timeout=20, raise_on_timeout=True)
    cut, whole = rx.records
    (line,) = cut.violations
    # a FIN comes after the bytes before it; after a RST, what the kernel had not handed on may be lost
    kept = int(re.fullmatch(rf"http: body cut short: (\d+) of {len(body)} bytes \(Content-Length\), the sender "
                            rf"{how} the connection", line).group(1))
    assert kept == 812 or reset and kept < 812
    assert cut.notices == [] and cut.payload is None and cut.text == body[:kept].decode() and cut.status == 400
    assert whole.payload == p and whole.violations == [] and whole.notices == []
    assert rx.violations == cut.violations and rx.notices == []
    captured = [json.loads(line) for line in (tmp_path / "capture.jsonl").read_text().splitlines()]
    assert len(captured) == 2  # the part that came is captured too
    assert "Traceback" not in capfd.readouterr().err


def test_after_a_restart_a_new_with_a_car_id_of_a_passage_it_cut_is_a_new_passage():
    """The camera forgot carID 1 (cut without a Lost) and gives carID 1 to the next car."""
    v = Validator(speed=None)
    for counter, car, state in [(40, 1, "new"), (41, 2, "new"), (42, 1, "update")]:
        assert check(v, payload("2024-lpv", state, counter, car)) == []
    found = check(v, payload("2024-lpv", "new", 1, 1)) + check(v, payload("2024-lpv", "update", 2, 1))
    assert found == [(NOTICE, "counter: profile 1: restart: packetCounter back to 1 after 42 and carIDs back to 1 "
                              "after 2: 2 passages ended without a Lost (the camera restarted)")]
    assert check(v, payload("2024-lpv", "lost", 3, 1)) == [] and v.open_passages() == []

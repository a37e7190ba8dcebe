"""Every fault family's bundled scenario, played over loopback to real receivers: what arrives is
exactly what `ffsim events` says the camera sends with its faults (bytes, order, images), and it
differs from a good day exactly in the packets the faults mark."""

from __future__ import annotations

import dataclasses

import pytest

import ffsim
from ffsim import Run
from tests.servers import TcpListener, WerkzeugReceiver, wait_for

HTTP_FAMILIES = ["duplicate", "reorder", "burst", "payload", "restart", "clock"]


def scenario(family: str) -> ffsim.Scenario:
    return ffsim.load_scenario(ffsim.fault_scenarios()[family])


def good_day(model: ffsim.Scenario) -> ffsim.Scenario:
    return dataclasses.replace(model, faults=())


@pytest.mark.parametrize("family", HTTP_FAMILIES)
def test_an_http_receiver_gets_exactly_what_ffsim_events_says(family):
    model = scenario(family)
    with WerkzeugReceiver() as receiver:
        expected = list(ffsim.events(model, http=receiver.url))
        summary = Run(model, http=receiver.url, speed="max").play()
        assert summary.delivered_all, summary.table()
        wait_for(lambda: len(receiver.requests) >= len(expected))
        got = receiver.requests
    assert [r.files["event"][2] for r in got] == [p.json_bytes() for p in expected]
    assert [[f[2] for name, f in sorted(r.files.items()) if name != "event"] for r in got] == \
        [[a.data for a in p.payload.attachments] for p in expected]
    # nothing else: the packets that differ from a good day are those the faults mark (after a
    # restart every packet differs, the counter and carIDs started again: those before it are compared)
    plain = {(p.profile, p.payload.counter, p.json_bytes()) for p in ffsim.events(good_day(model), http=receiver.url)}
    restart = next((n for n, p in enumerate(expected) if p.fault and p.fault[0]["type"] == "restart"), len(expected))
    unmarked = [p for p in expected[:restart] if not p.fault]
    assert all((p.profile, p.payload.counter, p.json_bytes()) in plain for p in unmarked)
    assert any(p.fault for p in expected)


def test_the_faults_of_a_family_are_those_its_comment_promises():
    marks = {family: sorted({(m["type"], int(p.payload.counter)) for p in ffsim.events(scenario(family))
                             for m in (p.fault or [])}) for family in ("duplicate", "reorder", "burst", "payload")}
    assert marks["duplicate"] == [("duplicate", 8), ("duplicate", 10)]
    assert marks["reorder"] == [("reorder", 7), ("reorder", 10)]
    assert marks["burst"] == [("burst", c) for c in range(3, 10)]
    assert marks["payload"] == [("empty_image", 1), ("invalid_utf8_plate", 10), ("missing_field", 8),
                                ("missing_image", 5), ("oversized_image", 7), ("undecodable_image", 3),
                                ("wrong_type", 9)]


def test_tcp_documents_arrive_as_ffsim_events_says_coalesced_in_one_write():
    text = ffsim.fault_scenarios()["burst"].read_text() + "    coalesce: true\n"
    text = text.replace("  - {type: burst, during: [3s, 26s]}\n    coalesce: true\n",
                        "  - {type: burst, during: [3s, 26s], coalesce: true}\n")
    model = ffsim.scenario_from_text(text)
    with TcpListener() as listener:
        target = f"127.0.0.1:{listener.port}"
        expected = list(ffsim.events(model, tcp=target))
        summary = Run(model, tcp=target, speed="max").play()
        assert summary.delivered_all, summary.table()
        total = b"".join(p.json_bytes() for p in expected)
        wait_for(lambda: len(listener.data) >= len(total))
        connections = [bytes(c) for c in listener.connections]
    assert b"".join(connections) == total
    # one connection per event (the camera's framing), but the seven held ones in one
    assert len(connections) == len(expected) - 6
    held = b"".join(p.json_bytes() for p in expected if p.fault)
    assert held in connections


def test_the_built_in_receiver_tells_the_clock_step_of_the_clock_scenario_in_one_notice():
    from ffsim import Receiver

    # told the speed, it knows the sender's clock rate; at 4x the three points after the step span
    # the 2 s of arrival time it wants before it calls it a step (a buffer emptied at once is none)
    with Receiver(http="127.0.0.1:0", speed=4.0) as rx:
        summary = Run(scenario("clock"), http=rx.http_url, speed=4).play()
        assert summary.delivered_all  # every packet answered: the receiver answers once it has checked it
        notices, violations = rx.notices, rx.violations
    assert violations == []
    assert notices == ["timestamps: the sender's clock stepped by about -3600 s (its capture times against "
                       "arrival times): the Lost timing learns its clock again"]

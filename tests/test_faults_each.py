"""Each fault of the catalogue, alone, played over loopback into real receivers: what arrives
whole is exactly what `ffsim events` says the camera sends with that fault (bytes, order,
images), the fault happened (marked, and on the wire where it is a wire fault), and nothing
else differs from a good day."""

from __future__ import annotations

import dataclasses

import pytest

import ffsim
from ffsim import Run, scenario_from_text
from ffsim.faults import CATALOGUE
from ffsim.receiver import multipart
from tests.servers import HttpConnectionRecorder, TcpListener, wait_for

GATE = ffsim.bundled("parking-gate").read_text()
TWO_PROFILES = "profiles: [{id: 1}, {id: 2, protocol: tcp, framing: newline}]\n"


def parsed(request: bytes) -> tuple[bytes, list[bytes]]:
    """A whole multipart request: the event part and the images, as they came."""
    head, _, body = request.partition(b"\r\n\r\n")
    content_type = next(line.split(": ", 1)[1] for line in head.decode("latin-1").split("\r\n")
                        if line.lower().startswith("content-type:"))
    parts = multipart.parse(content_type, body, 16)
    return next(p.data for p in parts if p.name == "event"), [p.data for p in parts if p.name != "event"]


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.name)
def test_each_fault_alone_arrives_as_ffsim_events_says_and_nothing_else(entry):
    model = scenario_from_text(GATE + TWO_PROFILES + f"faults:\n  - {entry.yaml}\n")
    with HttpConnectionRecorder() as http, TcpListener() as tcp:
        url = f"http://127.0.0.1:{http.port}/events"
        model = dataclasses.replace(model, profiles=tuple(
            dataclasses.replace(p, url=url if p.protocol == "http" else tcp.target) for p in model.profiles))
        expected = list(ffsim.events(model))
        by_profile = {pid: [p for p in expected if p.profile == pid] for pid in (1, 2)}
        summary = Run(model, speed="max").play()
        assert summary.delivered_all, summary.table()
        tcp_bytes = b"".join(p.json_bytes() for p in by_profile[2])
        wait_for(lambda: len(http.requests) >= len(by_profile[1]) and len(tcp.data) >= len(tcp_bytes))
        requests, tcp_data = list(http.arrived), tcp.data
        connections = list(http.connections)

    # what came whole: the HTTP packets in order with their images, the TCP documents in order
    assert [parsed(r)[0] for r in requests] == [p.json_bytes() for p in by_profile[1]]
    assert [parsed(r)[1] for r in requests] == [[a.data for a in p.payload.attachments] for p in by_profile[1]]
    assert tcp_data == tcp_bytes
    # the fault happened: marked on the packets it struck, and on the wire for a wire fault
    marked = [p for p in expected if p.fault]
    assert marked and {m["type"] for p in marked for m in p.fault} == {entry.name}
    cut = [c for c in connections if not c["requests"] or c["end"] == "reset"]
    if entry.name in ("reset_mid_body", "truncated_multipart"):
        assert len(cut) == 1 and cut[0]["end"] == ("reset" if entry.name == "reset_mid_body" else "eof")
        assert 0 < len(cut[0]["data"]) < len(requests[[p.fault is not None for p in by_profile[1]].index(True)])
    elif entry.name == "trickle":
        struck = next(p for p in by_profile[1] if p.fault).json_bytes()
        (trickled,) = [c for c in connections if any(parsed(r)[0] == struck for r in c["requests"])]
        assert len(trickled["requests"]) == 1  # a connection of its own
        body_reads = [r for r in trickled["reads"][1:] if r]  # after the head: the body 256 bytes every 20 ms
        # (a busy machine may read two chunks at once: at least half as many reads as chunks)
        assert len(body_reads) >= sum(map(len, body_reads)) // 512 > 10
    else:
        assert cut == []  # nothing cut short where no wire fault asked for it
    # nothing else: the packets the faults do not mark are a good day's (before a restart)
    good = {(p.profile, p.payload.counter, p.json_bytes())
            for p in ffsim.events(dataclasses.replace(model, faults=()))}
    restart = next((n for n, p in enumerate(expected) if p.fault and p.fault[0]["type"] == "restart"),
                   len(expected))
    assert all((p.profile, p.payload.counter, p.json_bytes()) in good for p in expected[:restart] if not p.fault)

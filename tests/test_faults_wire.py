"""Wire faults on real loopback servers (faults-design.md 2.5): what the receiver sees is exactly
the fault, then (HTTP cuts) the camera's retry, intact, through libcurl.

The messages are built here by hand (a packet's Message with ``wire`` or ``coalesced`` set), and
sent through Delivery / the transports; the scenario-level tests (FaultPlan) live elsewhere.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from ffsim.protocol import Camera
from ffsim.protocol.payload import Attachment
from ffsim.receiver.server import Receiver
from ffsim.runner import message_of
from ffsim.scenario import load_scenario
from ffsim.scenario.model import Fault, Profile, Timing, WireFault
from ffsim.transport import Message, TargetError, aio_tcp
from ffsim.transport.delivery import Delivery, Item
from ffsim.transport.http import HttpTransport
from ffsim.transport.rawhttp import capture, image_middle, split_request
from ffsim.transport.tcp import TcpTransport, split_points

from .servers import HttpConnectionRecorder, ReadRecorder, wait_for

IMAGE = bytes(range(256)) * 8
BOUNDARY = "ffsim-wire-boundary"
FAST = (0.01, 0.05)  # the deliveries' backoff


def http_message(json: bytes = b'{"packetCounter": "7"}\n', images: int = 1, **wire) -> Message:
    parts = tuple(Attachment("image", f"img_{n}.jpg", "jpeg", "vehicle", lambda: IMAGE) for n in range(images))
    return Message(json, parts, "event_7.json", counter="7", wire=WireFault(**wire) if wire else None)


def deliver(transport, message: Message, profile_id: int = 1) -> Delivery:
    """One item through a Delivery, drained (the retry included)."""
    delivery = Delivery(profile_id, transport, backoff=FAST)
    delivery.offer(Item(message, {}))
    assert delivery.drain(60), delivery.counters
    delivery.stop()
    return delivery


def libcurl_bytes(profile: Profile, message: Message, url: str) -> tuple[bytes, bytes]:
    """(head, body) as libcurl writes message for profile to url (a fixed boundary: every request alike)."""
    transport = HttpTransport(profile, url)
    try:
        return split_request(capture(transport, dataclasses.replace(message, wire=None)))
    finally:
        transport.close()


# -- the attempt a fault hits ----------------------------------------------------------------------
def test_a_wire_fault_hits_the_first_attempt_only():
    message = Message(b"{}", (), "e.json", wire=WireFault("reset_mid_body"), coalesced=(b"{}\n",))
    item = Item(message, {})
    item.attempts = 1
    assert item.message_for_attempt() is message
    item.attempts = 2
    again = item.message_for_attempt()
    assert again.wire is None and again.coalesced == message.coalesced and again.json == message.json
    plain = Item(Message(b"{}", (), "e.json"), {}, attempts=3)
    assert plain.message_for_attempt() is plain.message


# -- HTTP --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("expect", [False, True], ids=["plain", "expect-100"])
def test_reset_mid_body_then_the_retry_intact(expect):
    # expect: the head asks for 100 Continue, and the raw path waits for it as libcurl does
    profile = Profile(boundary=BOUNDARY, expect_threshold=1024 if expect else 1 << 20)
    message = http_message(kind="reset_mid_body", cut_after=300)
    with HttpConnectionRecorder() as rx:
        head, body = libcurl_bytes(profile, message, rx.url)
        transport = HttpTransport(profile, rx.url)
        delivery = deliver(transport, message)
        wait_for(lambda: len(rx.finished) == 2, what=f"two connections ended: {rx.connections}")
    cut, retry = rx.connections
    assert (b"\r\nExpect: 100-continue\r\n" in head) == expect
    assert bytes(cut["data"]) == head + body[:300]
    assert cut["end"] == "reset" and cut["requests"] == [] and cut["answers"] == []
    assert retry["requests"] == [head + body] and retry["answers"] == [200]
    c = delivery.counters
    assert (c.sent, c.failed, c.retried, c.dropped) == (1, 1, 1, 0)


def test_truncated_multipart_cuts_the_first_image_with_a_fin():
    profile = Profile(boundary=BOUNDARY)
    message = http_message(images=2, kind="truncated_multipart", cut_image=True)
    reports = []
    with HttpConnectionRecorder() as rx:
        head, body = libcurl_bytes(profile, message, rx.url)
        middle = image_middle(head, body)
        assert body.index(IMAGE) < middle < body.index(IMAGE) + len(IMAGE)
        delivery = Delivery(1, HttpTransport(profile, rx.url), backoff=FAST,
                            report=lambda pid, item, outcome: reports.append(outcome))
        delivery.offer(Item(message, {}))
        assert delivery.drain(60)
        delivery.stop()
        wait_for(lambda: len(rx.finished) == 2, what=f"two connections ended: {rx.connections}")
    cut, retry = rx.connections
    assert bytes(cut["data"]) == head + body[:middle]
    assert cut["end"] == "eof" and cut["answers"] == [400]  # FIN, not RST: the receiver could answer
    assert retry["requests"] == [head + body]
    # a cut request is a connection-level failure whatever the receiver said: retried
    assert reports[0].status is None and not reports[0].ok and "then FIN" in reports[0].detail
    assert "answered 400" in reports[0].detail and reports[1].ok


def test_trickle_arrives_whole_in_many_reads():
    profile = Profile(boundary=BOUNDARY)
    message = http_message(kind="trickle", chunk=512, every_us=10_000)
    with HttpConnectionRecorder() as rx:
        head, body = libcurl_bytes(profile, message, rx.url)
        delivery = deliver(HttpTransport(profile, rx.url), message)
    (connection,) = rx.connections
    assert connection["requests"] == [head + body]
    assert len([r for r in connection["reads"] if r]) >= 2  # the head at once, then the body's chunks
    c = delivery.counters
    assert (c.sent, c.failed, c.retried) == (1, 0, 0)


def test_trickle_the_head_too():
    profile = Profile(boundary=BOUNDARY)
    message = http_message(kind="trickle", chunk=64, every_us=10_000, head="trickle")
    with HttpConnectionRecorder() as rx:
        head, body = libcurl_bytes(profile, dataclasses.replace(message, attachments=()), rx.url)
        transport = HttpTransport(profile, rx.url)
        outcome = transport.send(dataclasses.replace(message, attachments=()))
        transport.close()
    assert outcome.ok and outcome.status == 200
    (connection,) = rx.connections
    assert connection["requests"] == [head + body]
    assert len(connection["reads"][0]) < len(head)


def test_trickle_beyond_the_receivers_deadline_gets_408_then_the_retry():
    profile = Profile(boundary=BOUNDARY)
    message = http_message(kind="trickle", chunk=64, every_us=100_000)  # about 3 s for the body
    reports = []
    with HttpConnectionRecorder(deadline_s=0.3) as rx:
        head, body = libcurl_bytes(profile, message, rx.url)
        delivery = Delivery(1, HttpTransport(profile, rx.url), backoff=FAST,
                            report=lambda pid, item, outcome: reports.append(outcome))
        delivery.offer(Item(message, {}))
        assert delivery.drain(60)
        delivery.stop()
    assert rx.connections[0]["answers"] == [408] and rx.connections[0]["requests"] == []
    assert rx.requests == [head + body]
    assert reports[0].status == 408 and reports[1].ok


def test_a_stop_ends_a_trickle():
    profile = Profile(boundary=BOUNDARY)
    message = http_message(kind="trickle", chunk=64, every_us=30_000_000)
    with HttpConnectionRecorder() as rx:
        delivery = Delivery(1, HttpTransport(profile, rx.url), backoff=FAST)
        delivery.offer(Item(message, {}))
        wait_for(lambda: rx.connections and rx.connections[0]["reads"], what="the trickle began")
        delivery.stop(abort=True)
        assert not delivery._thread.is_alive()
    assert [i.message for i in delivery.pending()] == [message]  # still buffered, not counted
    assert delivery.counters.failed == 0 and delivery.counters.sent == 0


def test_https_target_is_refused_in_one_line():
    delivery = deliver_fatal(HttpTransport(Profile(), "https://127.0.0.1:9/listener.php"),
                             http_message(kind="reset_mid_body"))
    assert delivery.fatal is not None and "https" in delivery.fatal.detail and "\n" not in delivery.fatal.detail


def deliver_fatal(transport, message):
    delivery = Delivery(1, transport, backoff=FAST)
    delivery.offer(Item(message, {}))
    delivery.drain(30)
    delivery.stop()
    return delivery


@pytest.mark.parametrize("kind", ["reset_mid_body", "truncated_multipart"])
def test_the_builtin_receiver_stores_the_packet_once_intact(tmp_path, kind):
    scenario = load_scenario("scenarios/parking-gate.yaml")
    packet = next(iter(Camera(scenario, scenario.start_us).packets(None)))
    profile = scenario.profiles[0]
    message = dataclasses.replace(message_of(packet, profile), wire=WireFault(kind, cut=0.5))
    with Receiver(http="127.0.0.1:0") as receiver:
        delivery = deliver(HttpTransport(profile, receiver.http_url + "listener.php"), message)
        receiver.wait(until=lambda records: any(r.payload is not None and r.status == 200 for r in records),
                      timeout=30, raise_on_timeout=True)
        stored = [r for r in receiver.records if r.payload is not None and r.status == 200]
    assert len(stored) == 1
    assert stored[0].payload["packetCounter"] == packet.payload.counter
    assert (delivery.counters.sent, delivery.counters.retried) == (1, 1)


# -- TCP ---------------------------------------------------------------------------------------------
def tcp_json(counter: int) -> bytes:
    return b'{\n  "packetCounter": "%d",\n  "plateUTF8": "%s"\n}\n' % (counter, b"X" * 400)


@pytest.mark.parametrize("framing", ["per-connection", "newline"])
def test_tcp_split_writes_one_document_in_pieces(framing):
    message = Message(tcp_json(5), (), "", counter="5", wire=WireFault("tcp_split", pieces=4, pause_us=20_000))
    with ReadRecorder() as rx:
        transport = TcpTransport(Profile(protocol="tcp", framing=framing), rx.target)
        delivery = deliver(transport, message)
        wait_for(lambda: rx.ended == 1, what="the connection ended")
    (reads,) = rx.connections
    assert b"".join(reads) == message.json
    assert len(reads) >= 2  # loopback may merge pieces; the pauses keep most apart
    assert delivery.counters.sent == 1
    # the cut points are the packet's: the same every run
    assert split_points(len(message.json), 4, "5") == split_points(len(message.json), 4, "5")
    assert len(split_points(len(message.json), 4, "5")) == 3


@pytest.mark.parametrize("framing", ["per-connection", "newline", "none"])
def test_coalesced_documents_go_in_one_write(framing):
    docs = [tcp_json(n) for n in (1, 2, 3)]
    message = Message(docs[0], (), "", counter="1", coalesced=tuple(docs[1:]))
    expected = b"".join(d if framing != "none" else d.rstrip(b"\n") for d in docs)
    with ReadRecorder() as rx:
        transport = TcpTransport(Profile(protocol="tcp", framing=framing), rx.target)
        delivery = deliver(transport, message)
        wait_for(lambda: rx.ended == 1, what="the connection ended")
    (reads,) = rx.connections
    assert reads == [expected]  # one read: the three documents
    assert delivery.counters.sent == 1


def test_coalesced_documents_in_one_write_from_the_load_driver():
    docs = [tcp_json(n) for n in (1, 2)]
    message = Message(docs[0], (), "", counter="1", coalesced=(docs[1],))
    with ReadRecorder() as rx:
        transport = TcpTransport(Profile(protocol="tcp", framing="newline"), rx.target)

        async def go():
            sent = await aio_tcp.send(transport, message)
            closed = await aio_tcp.close(transport)
            return sent, closed

        sent, closed = asyncio.run(go())
        wait_for(lambda: rx.ended == 1, what="the connection ended")
    assert sent.ok and closed is None
    assert rx.connections == [[docs[0] + docs[1]]]


@pytest.mark.parametrize("framing", ["per-connection", "newline"])
def test_the_builtin_receiver_reads_split_and_coalesced_documents_intact(framing):
    scenario = load_scenario("scenarios/parking-gate.yaml")
    profile = Profile(protocol="tcp", framing=framing)
    packets = [p for p, _ in zip(Camera(scenario, scenario.start_us).packets(None), range(4))]
    messages = [message_of(p, profile) for p in packets]
    split = dataclasses.replace(messages[0], wire=WireFault("tcp_split", pieces=5, pause_us=20_000))
    coalesced = dataclasses.replace(messages[1], coalesced=tuple(m.json for m in messages[2:]))
    with Receiver(http=None, tcp="127.0.0.1:0") as receiver:
        transport = TcpTransport(profile, receiver.tcp_address)
        delivery = Delivery(1, transport, backoff=FAST)
        delivery.offer(Item(split, {}))
        delivery.offer(Item(coalesced, {}))
        assert delivery.drain(30)
        delivery.stop()
        receiver.wait(count=4, timeout=30, raise_on_timeout=True)
        counters = [r.payload["packetCounter"] for r in receiver.records if r.payload is not None]
    assert counters == [p.payload.counter for p in packets]
    assert delivery.counters.sent == 2


# -- ffsim load ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["reset_mid_body", "truncated_multipart", "trickle", "tcp_split"])
def test_load_refuses_the_wire_faults_it_cannot_send(kind):
    from ffsim.load.camera import unsent_wire_fault
    from ffsim.load.run import LoadRun
    from ffsim.scenario.fleet import fleet_from_scenario

    scenario = load_scenario("scenarios/parking-gate.yaml")
    fault = Fault(index=0, type=kind, name=kind, timing=Timing(at_us=0), spec=WireFault(kind))
    faulty = dataclasses.replace(scenario, faults=(fault,))
    line = unsent_wire_fault(faulty, "CAM-1")
    assert line and "\n" not in line and kind in line and "ffsim load" in line
    coalesce = Fault(index=0, type="tcp_coalesce", name="c", timing=Timing(at_us=0), spec=WireFault("tcp_coalesce"))
    assert unsent_wire_fault(dataclasses.replace(scenario, faults=(coalesce,)), "CAM-1") is None
    with pytest.raises(TargetError, match="ffsim load does not send"):
        LoadRun(fleet_from_scenario(faulty, cameras=2), http="http://127.0.0.1:9/x")


def test_a_trickle_longer_than_the_profile_s_timeout_times_out_as_libcurl_would():
    profile = Profile(boundary=BOUNDARY, timeout_us=300_000)
    message = http_message(kind="trickle", chunk=64, every_us=50_000)  # the body takes far longer than 0.3 s
    with HttpConnectionRecorder() as rx:
        transport = HttpTransport(profile, rx.url)
        try:
            outcome = transport.send(message)
        finally:
            transport.close()
        wait_for(lambda: rx.finished)
    assert (outcome.ok, outcome.detail, outcome.status) == (False, "timeout", None)
    assert rx.requests == []  # the request never came whole

"""The raw path of HTTP wire faults writes libcurl's bytes, byte for byte (faults-design.md 2.5).

Each case sends the same message twice into a RawRecorder: once by HttpTransport (libcurl),
once by the raw path with the test-only kind "none" (libcurl's captured bytes, written as
they are). The recorded requests must be identical; with libcurl's own boundary, which it
draws anew per request, identical once the boundary token is replaced.
"""

from __future__ import annotations

import dataclasses
import re

import pycurl
import pytest

from ffsim.protocol.payload import Attachment
from ffsim.scenario.model import Auth, Profile, WireFault
from ffsim.transport import Message
from ffsim.transport.http import HttpTransport
from ffsim.transport.rawhttp import capture, cut_offset, image_middle, split_request, wire_problem

from .servers import RawRecorder

JSON = b'{\n  "packetCounter": "17",\n  "plateUTF8": "1AB2345"\n}\n'
IMAGE = bytes(range(256)) * 8  # 2 KiB, every byte value (CR, LF and dashes included)
LIBCURL_BOUNDARY = re.compile(rb"-{24}[0-9A-Za-z]{16,22}")


def message(attachments: int = 1, image: bytes = IMAGE) -> Message:
    parts = tuple(Attachment(f"image{n + 1 if n else ''}", f"img_{n}.jpg", "jpeg", "vehicle",
                             lambda: image) for n in range(attachments))
    return Message(JSON, parts, "event_17.json", counter="17")


def raw(msg: Message) -> Message:
    return dataclasses.replace(msg, wire=WireFault("none"))


def both(profile: Profile, msg: Message) -> tuple[bytes, bytes]:
    """What libcurl writes, and what the raw path writes, as a RawRecorder reads them."""
    with RawRecorder() as rx:
        transport = HttpTransport(profile, rx.url)
        try:
            first = transport.send(msg)
            second = transport.send(raw(msg))
        finally:
            transport.close()
    assert first.ok and second.ok, (first, second)
    assert second.status == 200 and second.detail == "200"
    assert len(rx.requests) == 2
    recorded = [r["head"] + b"\r\n\r\n" + r["body"] for r in rx.requests]
    return recorded[0], recorded[1]


def without_boundary(data: bytes) -> bytes:
    assert LIBCURL_BOUNDARY.search(data), data[:400]
    return LIBCURL_BOUNDARY.sub(b"BOUNDARY", data)


def test_a_fixed_boundary_gives_identical_bytes():
    libcurl, ours = both(Profile(boundary="ffsim-boundary-1234"), message(2))
    assert libcurl == ours
    assert b"ffsim-boundary-1234" in ours and IMAGE in ours


def test_libcurls_own_boundary_identical_but_for_the_token():
    libcurl, ours = both(Profile(), message(1))
    assert libcurl != ours  # libcurl draws a boundary per request
    assert without_boundary(libcurl) == without_boundary(ours)


@pytest.mark.parametrize("profile", [
    Profile(format="json"),
    Profile(auth=Auth("basic", "camera", "s3cret"), boundary="b-1"),
    Profile(auth_header=Auth("header", secret="k-123", name="X-Auth-Key"), boundary="b-1"),
    Profile(user_agent="AXIS P1465-LE/11.8", boundary="b-1"),
    Profile(expect_threshold=1024, boundary="b-1"),  # Expect: 100-continue, and the wait for it
], ids=["json", "basic-auth", "auth-header", "user-agent", "expect-100"])
def test_each_setting_gives_identical_bytes(profile):
    libcurl, ours = both(profile, message(1))
    assert libcurl == ours
    if profile.expect_threshold == 1024:
        assert b"\r\nExpect: 100-continue\r\n" in ours


def test_capture_equals_what_libcurl_says_it_wrote():
    """DEBUGFUNCTION on a handle set up the same way: HEADER_OUT + DATA_OUT == the capture."""
    profile = Profile(boundary="b-2")
    msg = message(1)
    with RawRecorder() as rx:
        transport = HttpTransport(profile, rx.url)
        try:
            captured = capture(transport, msg)
            written = bytearray()
            c = pycurl.Curl()
            transport.configure(c)
            transport.prepare_on(c, msg)
            c.setopt(pycurl.VERBOSE, 1)
            c.setopt(pycurl.DEBUGFUNCTION, lambda kind, data: written.extend(data) if kind in (
                pycurl.INFOTYPE_HEADER_OUT, pycurl.INFOTYPE_DATA_OUT) else None)
            c.perform()
            c.close()
        finally:
            transport.close()
    assert bytes(written) == captured


def test_the_cut_points():
    profile = Profile(boundary="b-3")
    with RawRecorder() as rx:
        transport = HttpTransport(profile, rx.url)
        try:
            head, body = split_request(capture(transport, message(2)))
        finally:
            transport.close()
    middle = image_middle(head, body)
    first_image = body.index(IMAGE)
    assert middle == first_image + len(IMAGE) // 2
    assert cut_offset(WireFault("truncated_multipart"), head, body) == middle
    assert cut_offset(WireFault("truncated_multipart", cut=0.25), head, body) == len(body) // 4
    assert cut_offset(WireFault("reset_mid_body", cut_after=812), head, body) == 812
    assert cut_offset(WireFault("reset_mid_body", cut_after=10**9), head, body) == len(body)
    assert cut_offset(WireFault("reset_mid_body"), head, body) == len(body) // 2


def test_https_and_digest_are_refused_in_one_line():
    assert "https" in wire_problem("https://example.org/x", Profile())
    assert "digest" in wire_problem("http://example.org/x", Profile(auth=Auth("digest", "u", "p")))
    assert wire_problem("http://example.org/x", Profile(auth=Auth("basic", "u", "p"))) is None
    transport = HttpTransport(Profile(), "https://127.0.0.1:9/x")
    try:
        outcome = transport.send(dataclasses.replace(message(0), wire=WireFault("trickle")))
    finally:
        transport.close()
    assert outcome.fatal and not outcome.ok and "\n" not in outcome.detail and "https" in outcome.detail

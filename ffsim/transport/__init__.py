"""Transports: put one packet on the wire and say how it went. I/O only.

A transport knows nothing of time, order or retries; ``delivery`` does that, the
same way for every transport, for run, replay, demo and load alike.

Every transport has ``send(message) -> Outcome`` (blocking, in the delivery's
thread), ``abort()`` (from any thread: the send in progress, and every later one,
ends within ``pacer.STOP_SLICE_S`` with a cancelled outcome) and ``close(wait)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scenario.model import WireFault


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    detail: str  # "200", "refused", "timeout", "reset", "503"...
    fatal: bool = False  # retrying cannot help (bad URL, unknown host, certificate refused)
    # the receiver's HTTP answer; None for connection-level outcomes (every TCP outcome,
    # and HTTP attempts that got no answer): the delivery policy classifies by it
    status: int | None = None
    # events reported delivered earlier on a kept TCP connection that the receiver has
    # since reset with unread data: how many of them may not have been read (at most)
    unconfirmed: int = 0
    # seconds from the start of the attempt to its outcome (the driver measures it)
    latency_s: float | None = None
    # the attempt was cut short by a stop: neither delivered nor failed as far as ffsim knows
    cancelled: bool = False


class TargetError(Exception):
    """A target that cannot work: reported in one line, and the run ends with exit 1."""


@dataclass(frozen=True, slots=True)
class Message:
    """What a transport sends for one packet."""

    json: bytes  # the camera's JSON text
    attachments: tuple  # of ffsim.protocol.payload.Attachment, for multipart
    json_filename: str
    counter: str = ""  # the packetCounter, for file name templates
    # a byte-level fault for this packet's first attempt (ffsim.faults); None: libcurl sends it as is
    wire: WireFault | None = None
    # TCP: the JSON of the packets that follow this one in the same write (a tcp_coalesce or a
    # burst with coalesce), each framed as the profile frames: one item, one attempt, many documents
    coalesced: tuple[bytes, ...] = ()

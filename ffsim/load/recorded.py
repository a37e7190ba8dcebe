"""Recorded traffic of one camera as a fleet (`ffsim load capture.jsonl --cameras N`).

The source is what `ffsim replay` reads (``replay.load_source``): a receiver's capture
(raw requests and TCP bytes) or JSON lines of payloads. Each camera of the fleet sends the
whole recording, with its recorded timing (scaled by the speed), re-keyed as a camera of its
own:

* payloads get the camera's device id (``sensorProviderID``) and are re-timed so that the
  first recorded capture falls at the camera's start in the load (the load's t=0, now by
  default, plus its ramp); they go out through the same transports as scenario cameras;
* a raw request keeps its bytes except the device id inside them (every
  ``"sensorProviderID": "..."`` of the body) and its ``Content-Length``, fixed to the new
  body; raw TCP bytes likewise. Their times stay as recorded (rewriting a raw body's times
  would rewrite a multipart body: use JSON lines to have them re-timed).

Sans I/O like ``load.camera``: the drivers send a lane's events through its transport.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..replay import Entry, RawHttpTransport, RawTcpTransport, Skipped, _digits, _short, _wire, load_source, \
    raw_request, retime
from ..scenario.fleet import MAX_CAMERAS
from ..scenario.model import Profile
from ..terminal import printable
from ..transport import Message
from ..transport.policy import Item
from .camera import Lane

DEVICE_ID = re.compile(rb'("sensorProviderID"\s*:\s*")((?:[^"\\]|\\.)*)(")')
CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[^\r\n]*\r\n")


@dataclass
class Recording:
    """A recorded camera made a fleet of `cameras` cameras (device ids from `device_id`)."""

    name: str
    source: str
    entries: list[Entry]
    cameras: int = 1
    ramp_us: int = 0
    device_id: str = "CAMERA-{n:03}"
    skipped: Skipped = field(default_factory=Skipped)
    duration_us: int | None = None

    def groups(self) -> list[str]:
        return [self.name]

    @property
    def kinds(self) -> set[str]:
        return {e.kind for e in self.entries}


def load_recording(path: str, cameras: int = 1, ramp_us: int = 0) -> Recording:
    """Read a capture or JSON lines (ValueError `FILE:LINE: message` when nothing can be replayed;
    bad lines are skipped and kept in .skipped)."""
    if isinstance(cameras, bool) or not isinstance(cameras, int) or not 1 <= cameras <= MAX_CAMERAS:
        raise ValueError(f"cameras must be a whole number from 1 to {MAX_CAMERAS}, got {cameras!r}")
    if isinstance(ramp_us, bool) or not isinstance(ramp_us, int) or ramp_us < 0:
        raise ValueError(f"ramp_us must be a whole number of microseconds, 0 or more, got {ramp_us!r}")
    skipped = Skipped()
    entries = load_source(Path(path), skipped)
    devices = sorted({d for e in entries if (d := _device_of(e)) is not None})
    if len(devices) > 1:
        shown = ", ".join(printable(d) for d in devices[:5]) + (f" and {len(devices) - 5} more" if len(devices) > 5 else "")
        raise ValueError(f"{printable(path)}: holds the traffic of {len(devices)} cameras ({shown}); a recording "
                         "made a fleet is one camera's: keep one camera's lines (e.g. with grep or jq) and load them")
    return Recording(Path(path).stem, path, entries, cameras, ramp_us, skipped=skipped)


def _device_of(entry: Entry) -> str | None:
    """The camera a recorded entry came from (its sensorProviderID), when it says."""
    if entry.payload is not None:
        value = entry.payload.get("sensorProviderID")
        return value if isinstance(value, str) else None
    found = DEVICE_ID.search(entry.data)
    return found.group(2).decode("utf-8", "backslashreplace") if found else None


def is_recording(path: str) -> bool:
    """A capture or JSON lines rather than YAML: its first non-blank character opens a JSON object."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def rekeyed(data: bytes, device_id: str) -> bytes:
    """Raw bytes (an HTTP request, or TCP data) with every sensorProviderID set to device_id,
    and an HTTP request's Content-Length fixed to its new body."""
    value = device_id.encode("utf-8").replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    end = data.find(b"\r\n\r\n")
    if end < 0 or not data[:8].isupper() and b" HTTP/" not in data[:end]:
        return DEVICE_ID.sub(lambda m: m.group(1) + value + m.group(3), data)
    head, body = data[:end + 2], data[end + 4:]
    new_body = DEVICE_ID.sub(lambda m: m.group(1) + value + m.group(3), body)
    if new_body == body:
        return data
    head = CONTENT_LENGTH.sub(lambda m: f"Content-Length: {len(new_body)}\r\n".encode(), head)
    return head + b"\r\n" + new_body


class RecordedCamera:
    """One camera of a recording: the LoadCamera interface over the recorded entries."""

    def __init__(self, recording: Recording, index: int, epoch_ms: int, until_us: int | None,
                 transport: Callable[[Profile], Any], backoff: tuple[float, float], http: str | None,
                 tcp: str | None, json_format: bool = False) -> None:
        self.index = index
        self.group = recording.name
        n = index + 1
        self.device_id = recording.device_id.format(n=n, i=index, group=recording.name)
        self.join_s = recording.ramp_us * index // recording.cameras / 1e6
        self.offset_s = self.join_s
        self._entries = recording.entries
        times = [e.t_s for e in recording.entries if e.t_s is not None]
        self._first = min(times) if times else 0.0
        captured = [ms for e in recording.entries if e.payload is not None
                    and (ms := _digits(e.payload.get("capture_timestamp"))) is not None]
        # payloads move so that the first capture is at this camera's start
        self._shift_ms = (epoch_ms + int(self.offset_s * 1000) - min(captured)) if captured else 0
        self._until_s = None if until_us is None else until_us / 1e6
        self.lanes: dict[str, Lane] = {}
        kinds = recording.kinds
        if "payload" in kinds:
            profile = Profile(id=1, protocol="http" if http else "tcp", url=http or tcp, image="none",
                              format="json" if json_format else "multipart")
            self.lanes["payload"] = Lane(self, "payload", profile, transport(profile), backoff)  # type: ignore[arg-type]
        if "raw-http" in kinds and http:
            raw = Profile(id=1, protocol="http", url=http, image="none")
            self.lanes["raw-http"] = Lane(self, "raw-http", raw, RawHttpTransport(http), backoff)  # type: ignore[arg-type]
        if "raw-tcp" in kinds and tcp:
            raw = Profile(id=2, protocol="tcp", url=tcp, image="none")
            self.lanes["raw-tcp"] = Lane(self, "raw-tcp", raw, RawTcpTransport(tcp), backoff)  # type: ignore[arg-type]
        self._position = 0
        self._previous = 0.0
        self.exhausted = False
        self.taken = 0

    def next(self) -> tuple[float, Lane, Item] | None:
        while self._position < len(self._entries):
            entry = self._entries[self._position]
            self._position += 1
            lane = self.lanes.get(entry.kind)
            if lane is None:
                continue  # raw traffic of a protocol the load does not send (counted by the caller)
            moment = self._previous if entry.t_s is None else entry.t_s - self._first
            if self._until_s is not None and self.offset_s + moment > self._until_s:
                self._position = len(self._entries)
                break
            self._previous = moment
            self.taken += 1
            return self.offset_s + moment, lane, self._item(entry)
        self.exhausted = True
        return None

    def _item(self, entry: Entry) -> Item:
        label: dict[str, Any] = {"time": int((entry.t_s or 0) * 1000)}
        if entry.kind == "payload":
            assert entry.payload is not None
            payload = retime(entry.payload, self._shift_ms) if self._shift_ms else dict(entry.payload)
            payload["sensorProviderID"] = self.device_id
            label.update({key: _short(payload.get(name, "?")) for key, name in (
                ("profile", "profileID"), ("state", "carState"), ("carID", "carID"), ("plate", "plateUTF8"),
                ("direction", "carMoveDirection"))})
            counter = _digits(payload.get("packetCounter"), 20)
            return Item(Message(_wire(payload), (), f"event_{counter or 0}.json", str(counter or "")), label)
        label.update({"profile": entry.kind, "state": "raw", "carID": "-", "plate": f"{len(entry.data)} bytes",
                      "direction": "-"})
        data = rekeyed(entry.data, self.device_id)
        if entry.kind == "raw-http" and entry.redacted:
            data = raw_request(data, frozenset(entry.redacted))
        return Item(Message(data, (), entry.peer), label)

    def count_rest(self, give_up: Callable[[], bool]) -> int | None:
        rest = self.taken - sum(lane.handed for lane in self.lanes.values())
        while self.next() is not None:
            rest += 1
        return rest

    def pending(self) -> int:
        return sum(len(lane.queue) for lane in self.lanes.values())

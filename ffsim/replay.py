"""Replay recorded traffic: a receiver's capture (byte for byte) or JSON lines of payloads.

Sending goes through the same deliveries as `ffsim run` (order, buffer, retries,
summary); only a capture's raw requests need a transport of their own, which writes
the recorded bytes as they are and reads the answer with the standard library.
"""

from __future__ import annotations

import base64
import dataclasses
import http.client
import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .protocol.jsonwire import camera_json
from .receiver.validate import parse_datetime
from .protocol.payload import format_datetime
from .runner import Summary
from .scenario.model import Profile
from .transport import Message, Outcome, TargetError
from .transport.delivery import Delivery, Item
from .transport.http import HttpTransport, check_http_target
from .transport.tcp import TcpTransport, check_tcp_target


@dataclass
class Entry:
    t_s: float | None  # when it was sent or received, seconds (any origin)
    kind: str  # "raw-http", "raw-tcp", "payload"
    data: bytes = b""  # raw bytes
    payload: dict | None = None
    peer: str = ""
    label: dict = dataclasses.field(default_factory=dict)


def load_source(path: Path) -> list[Entry]:
    """A receiver's capture.jsonl, or JSON lines of payloads (bare, or under "payload")."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc.msg}") from None
            if isinstance(item, dict) and "data" in item and item.get("protocol") in ("http", "tcp"):
                kind = "raw-http" if item["protocol"] == "http" else "raw-tcp"
                entries.append(Entry(item.get("t"), kind, base64.b64decode(item["data"]), peer=item.get("peer", "")))
                continue
            payload = item.get("payload", item) if isinstance(item, dict) else None
            if not isinstance(payload, dict):
                raise ValueError(f"{path}:{number}: neither a capture entry nor a payload")
            t = item.get("time")
            t_s = t / 1000 if isinstance(t, (int, float)) else item.get("arrival")
            entries.append(Entry(t_s, "payload", payload=payload))
    return entries


def _local_offset_ms(payload: dict) -> int:
    """How far the payload's datetime (the camera's local time) is ahead of its capture_timestamp."""
    parsed = parse_datetime(payload.get("datetime")) if isinstance(payload.get("datetime"), str) else None
    return parsed[0] - int(payload["capture_timestamp"]) if parsed is not None else 0


def retime(payload: dict, shift_ms: int) -> dict:
    """The payload moved shift_ms later: capture times, frame time and datetime (in the
    camera's time zone, as the payload had it)."""
    out = dict(payload)
    if str(out.get("capture_timestamp", "")).isdigit():
        offset = _local_offset_ms(payload)
        ms = int(out["capture_timestamp"]) + shift_ms
        out["capture_timestamp"] = str(ms)
        out["capture_ts"] = str(ms * 1_000_000)
        out["datetime"] = format_datetime(ms + offset)
    frame = str(out.get("frame_timestamp", ""))
    if frame.isdigit() and frame != "0":
        out["frame_timestamp"] = str(int(frame) + shift_ms * 1000)
    return out


class RawHttpTransport:
    """Writes recorded HTTP requests as they are; the answer is read by http.client."""

    def __init__(self, url: str, timeout_s: float = 30.0):
        parts = urlsplit(url)
        self.address = (parts.hostname, parts.port or 80)
        self.timeout_s = timeout_s

    def send(self, message: Message) -> Outcome:
        try:
            with socket.create_connection(self.address, timeout=self.timeout_s) as sock:
                sock.sendall(message.json)
                response = http.client.HTTPResponse(sock)
                response.begin()
                response.read()
                return Outcome(200 <= response.status < 300, str(response.status), status=response.status)
        except ConnectionRefusedError:
            return Outcome(False, "refused")
        except (OSError, http.client.HTTPException) as exc:
            return Outcome(False, f"reset ({exc})")

    def close(self) -> None:
        pass


class RawTcpTransport:
    """Writes recorded TCP bytes, on one connection per recorded connection."""

    def __init__(self, target: str):
        self.address = check_tcp_target(target)
        self.connections: dict[str, socket.socket] = {}

    def send(self, message: Message) -> Outcome:
        peer = message.json_filename  # the recorded connection
        try:
            sock = self.connections.get(peer)
            if sock is None:
                sock = self.connections[peer] = socket.create_connection(self.address, timeout=10)
            sock.sendall(message.json)
            return Outcome(True, "sent")
        except OSError as exc:
            self.connections.pop(peer, None)
            return Outcome(False, f"refused or reset ({exc})")

    def close(self) -> None:
        for sock in self.connections.values():
            sock.close()
        self.connections.clear()


def replay(entries: list[Entry], http_url: str | None, tcp_target: str | None, speed: float | None,
           now: bool = False, renumber: bool = False, device_id: str | None = None, report=None,
           drain_s: float = 60.0, json_format: bool = False) -> Summary:
    """Send the entries in order, their recorded timing scaled by speed (None: at once)."""
    if http_url:
        check_http_target(http_url)
    raw_http = [e for e in entries if e.kind == "raw-http"]
    raw_tcp = [e for e in entries if e.kind == "raw-tcp"]
    if raw_http and not http_url:
        raise TargetError("this capture holds HTTP requests: give --http URL")
    if raw_tcp and not tcp_target:
        raise TargetError("this capture holds TCP traffic: give --tcp HOST:PORT")
    if any(e.kind == "payload" for e in entries) and not (http_url or tcp_target):
        raise TargetError("give --http URL or --tcp HOST:PORT")
    profile = Profile(id=1, protocol="http" if http_url else "tcp", url=http_url or tcp_target, image="none",
                      format="json" if json_format else "multipart")
    deliveries: dict[str, Delivery] = {}
    if raw_http:
        deliveries["raw-http"] = Delivery(1, RawHttpTransport(http_url), report=report)
    if raw_tcp:
        deliveries["raw-tcp"] = Delivery(2, RawTcpTransport(tcp_target), report=report)
    if any(e.kind == "payload" for e in entries):
        if http_url:
            transport = HttpTransport(profile, http_url)
        else:
            check_tcp_target(tcp_target)
            transport = TcpTransport(profile, tcp_target)
        deliveries["payload"] = Delivery(1, transport, report=report)
    times = [e.t_s for e in entries if e.t_s is not None]
    first = min(times) if times else 0.0
    shift_ms = 0
    if now:
        captured = [int(e.payload["capture_timestamp"]) for e in entries
                    if e.payload and str(e.payload.get("capture_timestamp", "")).isdigit()]
        shift_ms = int(time.time() * 1000) - min(captured) if captured else 0
    counters: dict[str, int] = {}
    interrupted = False
    try:
        wall0 = time.monotonic()
        for entry in entries:
            if speed is not None and entry.t_s is not None:
                delay = wall0 + (entry.t_s - first) / speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if entry.kind == "payload":
                payload = retime(entry.payload, shift_ms) if shift_ms else dict(entry.payload)
                if renumber:
                    profile_id = str(payload.get("profileID", "1"))
                    counters[profile_id] = counters.get(profile_id, 0) + 1
                    payload["packetCounter"] = str(counters[profile_id])
                if device_id is not None:
                    payload["sensorProviderID"] = device_id
                label = {"time": int((entry.t_s or 0) * 1000), "profile": payload.get("profileID", "?"),
                         "state": payload.get("carState", "?"), "carID": payload.get("carID", "?"),
                         "plate": payload.get("plateUTF8", "?"), "direction": payload.get("carMoveDirection", "?")}
                name = f"event_{payload.get('packetCounter', '0')}.json"
                message = Message(camera_json(payload), (), name, str(payload.get("packetCounter", "")))
            else:
                label = {"time": int((entry.t_s or 0) * 1000), "profile": entry.kind, "state": "raw", "carID": "-",
                         "plate": f"{len(entry.data)} bytes", "direction": "-"}
                message = Message(entry.data, (), entry.peer)
            # as fast as the receiver takes it, but a receiver that is down cannot hold the replay forever
            deliveries[entry.kind].offer(Item(message, label), wait=drain_s if speed is None else False)
        deadline = time.monotonic() + drain_s
        for d in deliveries.values():
            d.drain(max(0.0, deadline - time.monotonic()))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for d in deliveries.values():
            d.stop()
    fatal = next((f"{k}: {d.fatal.detail}" for k, d in deliveries.items() if d.fatal is not None), None)
    return Summary.of(deliveries, fatal, interrupted)

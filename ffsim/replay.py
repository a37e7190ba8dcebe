"""Replay recorded traffic: a receiver's capture (byte for byte) or JSON lines of payloads.

Sending goes through the same deliveries as `ffsim run` (order, buffer, retries,
summary); only a capture's raw requests need a transport of their own, which writes
the recorded bytes as they are and reads the answer with the standard library.

What a line holds decides what it is, never the file's name: a capture entry (an object
with "protocol" and "data", no "payload"), a payload under "payload" (the lines of
`ffsim events` and of a receiver's packets.jsonl), or a bare payload object.

Reading a source, whatever it holds, never ends in a traceback: a line that cannot be
replayed is reported as ``FILE:LINE: message`` and

* skipped, the rest of the file replayed, when it is one damaged record: a torn line (the
  writer stopped mid-record: SIGKILL, full disk; the last line, or one followed by a new
  record), text that is not JSON or not UTF-8, nesting too deep, a number over 4300
  digits, a value that is not an object, fields of the wrong type, a time that is not a
  number from 0 to the year 9999, an unknown protocol, "data" that is not base64, a
  record without a payload (a packet the receiver could not read). A skipped torn line
  is expected after a crash and does not change the exit code; any other skipped line
  makes `ffsim replay` end with exit 1 once the rest is replayed.
* refused, the whole file (exit 1, nothing sent), when no line is usable (an empty file,
  blank lines only, only bad lines), when a line is longer than MAX_LINE (not a capture:
  a binary file, /dev/zero), or when the file cannot be read or is a device.

A UTF-8 byte order mark at the start of a line is ignored; a lone surrogate escape
(\\ud800) in a payload is sent as that escape, as the receiver stored it.
"""

from __future__ import annotations

import base64
import dataclasses
import http.client
import json
import os
import re
import socket
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .protocol.jsonwire import ESCAPED_KEYS, render
from .protocol.payload import format_datetime
from .receiver.validate import parse_datetime
from .scenario.model import Auth, Profile
from .terminal import printable
from .transport import Message, Outcome, TargetError
from .transport.delivery import Delivery, Item
from .transport.dispatch import Dispatcher, Summary
from .transport.pacer import Pacer
from .transport.http import HttpTransport, check_http_target
from .transport.tcp import CANCELLED, Aborted, TcpTransport, check_tcp_target, connect

MAX_LINE = 64 * 1024 * 1024  # a capture line of the receiver's largest request (16 MiB, base64) fits
LAST_SECOND = 253_402_214_400  # 9999-12-31T00:00Z: a later time cannot be shown in every zone
MAX_KEPT = 1000  # skipped lines whose messages are kept (the rest are counted)
TORN = "torn line (the writer stopped mid-record)"


@dataclass
class Entry:
    t_s: float | None  # when it was sent or received, seconds (any origin)
    kind: str  # "raw-http", "raw-tcp", "payload"
    data: bytes = b""  # raw bytes
    payload: dict | None = None
    peer: str = ""
    label: dict = dataclasses.field(default_factory=dict)
    redacted: tuple[str, ...] = ()  # raw-http: headers (lower-case) whose values the capture holds as ***


@dataclass
class Skipped:
    """The lines of a source that were not replayed: FILE:LINE: messages, the first MAX_KEPT kept."""

    messages: list[str] = dataclasses.field(default_factory=list)
    count: int = 0
    torn: int = 0

    @property
    def bad(self) -> int:
        """Skipped lines other than torn ones."""
        return self.count - self.torn

    def add(self, message: str, torn: bool) -> None:
        self.count += 1
        self.torn += torn
        if len(self.messages) < MAX_KEPT:
            self.messages.append(message + "; skipped")


class _BadLine(Exception):
    def __init__(self, message: str, torn: bool = False, harmless: bool = False):
        super().__init__(message)
        self.torn = torn or harmless  # not a fault of the file: skipped without failing the replay


def load_source(path: Path, skipped: Skipped | None = None) -> list[Entry]:
    """A receiver's capture.jsonl, or JSON lines of payloads (bare, or under "payload").

    Raises ValueError with a `FILE:LINE: message` for the first bad line when skipped is
    None; otherwise bad lines are added to skipped and the rest returned, and ValueError
    comes only when nothing usable remains (see the module's docstring)."""
    shown = printable(path)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise ValueError(f"{shown}: cannot read: {printable(exc.strerror or exc)}") from None
    entries: list[Entry] = []
    first_problem, problems, number = None, 0, 0
    with f:
        mode = os.fstat(f.fileno()).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            raise ValueError(f"{shown}:1: a device, not a capture or JSON lines")
        while True:
            try:
                raw = f.readline(MAX_LINE + 1)
            except OSError as exc:
                raise ValueError(f"{shown}:{number + 1}: cannot read: {printable(exc.strerror or exc)}") from None
            if not raw:
                break
            number += 1
            if len(raw) > MAX_LINE:
                raise ValueError(f"{shown}:{number}: a line longer than {MAX_LINE >> 20} MiB: "
                                 "not a capture or JSON lines")
            try:
                entry = _entry(raw)
            except _BadLine as bad:
                message = f"{shown}:{number}: {bad}"
                if skipped is None:
                    raise ValueError(message) from None
                skipped.add(message, bad.torn)
                problems += 1
                first_problem = first_problem or message
                continue
            if entry is not None:
                entries.append(entry)
    if not entries:
        if number == 0:
            raise ValueError(f"{shown}:1: empty file: nothing to replay")
        if first_problem is None:
            raise ValueError(f"{shown}:{number}: blank lines only: nothing to replay")
        more = f" (and {problems - 1} more bad line(s))" if problems > 1 else ""
        raise ValueError(f"{first_problem}{more}; nothing to replay")
    return entries


def _entry(raw: bytes) -> Entry | None:
    """One line's entry; None for a blank line; _BadLine for what cannot be replayed."""
    body = raw.rstrip(b" \t\r\n")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.end == len(body):  # cut inside a character
            text = body[:exc.start].decode("utf-8", "replace")
            if _is_prefix(text):
                raise _BadLine(TORN, torn=True) from None
        raise _BadLine(f"not UTF-8 text (byte {exc.start + 1})") from None
    text = text.lstrip("\ufeff")  # a byte order mark (an editor's)
    if not text.strip():
        return None
    try:
        item = json.loads(text)
    except RecursionError:
        raise _BadLine("nested too deeply to read") from None
    except json.JSONDecodeError as exc:
        if _is_prefix(text):
            raise _BadLine(TORN, torn=True) from None
        raise _BadLine(f"not JSON: {exc.msg} (column {exc.colno})") from None
    except ValueError:  # the only other: an integer over sys.get_int_max_str_digits()
        raise _BadLine("a number with more than 4300 digits") from None
    if not isinstance(item, dict):
        raise _BadLine(f"{_kind(item)}: neither a capture entry nor a payload (a JSON object per line)")
    if "payload" not in item and ("data" in item or "protocol" in item):
        return _capture_entry(item)
    if "payload" in item:
        payload = item["payload"]
        if payload is None:
            # the receiver's record of an arrival that was no packet (refused, not JSON, not stored):
            # nothing to send, and nothing wrong with the file
            raise _BadLine("a receiver's record without a payload (an arrival it could not read or refused)",
                           harmless=True)
        if not isinstance(payload, dict):
            raise _BadLine(f'"payload" is {_kind(payload)}: a JSON object expected')
        t_s = _time(item, "time", 1000, "milliseconds")
        if t_s is None:
            t_s = _time(item, "arrival", 1, "seconds")
    else:
        payload, t_s = item, None
    try:
        _wire(payload)
    except RecursionError:
        raise _BadLine("the payload is nested too deeply to send") from None
    return Entry(t_s, "payload", payload=payload)


def _capture_entry(item: dict) -> Entry:
    protocol = item.get("protocol")
    if not (isinstance(protocol, str) and protocol in ("http", "tcp")):
        if isinstance(protocol, str):
            raise _BadLine(f'unknown protocol "{printable(protocol[:40])}" (a capture holds "http" or "tcp")')
        raise _BadLine(f'"protocol" is {_kind(protocol)}: "http" or "tcp" expected')
    data = item.get("data")
    if not isinstance(data, str):
        raise _BadLine(f'"data" is {_kind(data)}: base64 text expected')
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise _BadLine('"data" is not base64') from None
    if not raw:
        raise _BadLine('"data" is empty: nothing to send')
    peer = item.get("peer", "")
    if not isinstance(peer, str):
        raise _BadLine(f'"peer" is {_kind(peer)}: text expected')
    redacted = item.get("redacted", [])
    if not (isinstance(redacted, list) and all(isinstance(name, str) for name in redacted)):
        raise _BadLine(f'"redacted" is {_kind(redacted)}: a list of header names expected')
    return Entry(_time(item, "t", 1, "seconds"), "raw-http" if protocol == "http" else "raw-tcp", raw, peer=peer,
                 redacted=tuple(name.strip().lower() for name in redacted))


def _time(item: dict, key: str, per_second: int, unit: str) -> float | None:
    """item[key] in seconds; None when absent or null; _BadLine when not a number from 0 to the year 9999."""
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _BadLine(f'"{key}" is {_kind(value)}: a number of {unit} expected')
    if not (0 <= value <= LAST_SECOND * per_second):  # NaN too
        raise _BadLine(f'"{key}" out of range: {printable(str(value)[:24])} (0 to {LAST_SECOND * per_second} {unit})')
    return value / per_second


def _kind(value: object) -> str:
    """What a JSON value is, in words (never the value itself: it may be huge or hostile)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return {str: "text", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(type(value),
                                                                                                  "a value")


_LITERAL = re.compile(r"t(?:r(?:ue?)?)?|f(?:a(?:l(?:se?)?)?)?|n(?:u(?:ll?)?)?|N(?:aN?)?|-(?:I(?:n(?:f(?:i(?:n(?:i(?:ty?)?)?)?)?)?)?)?"
                      r"|I(?:n(?:f(?:i(?:n(?:i(?:ty?)?)?)?)?)?)?")
_NUMBER_TAIL = re.compile(r"\.|[eE][-+]?")
# cut inside a \\u escape, or after a high surrogate's (its low half awaited); the error is at the u
_ESCAPE_START = re.compile(r"\\?u(?:[0-9a-fA-F]{0,4}|[dD][89abAB][0-9a-fA-F]{2})")


def _is_prefix(text: str) -> bool:
    """Whether text is the beginning of a JSON object cut short (what a torn record leaves)."""
    text = text.rstrip()
    if not text.startswith("{"):
        return False
    try:
        json.loads(text)
    except RecursionError:
        return False
    except json.JSONDecodeError as exc:
        rest = text[exc.pos:]
        if exc.msg.startswith("Unterminated string") or rest == "":  # an open string, or cut between tokens
            return True
        if exc.msg.startswith("Invalid \\uXXXX escape"):  # cut inside a \u escape
            return _ESCAPE_START.fullmatch(rest) is not None
        if exc.msg == "Expecting value":  # cut inside true, false, null or a sign
            return _LITERAL.fullmatch(rest) is not None
        # cut inside a number: 1. or 1e or 1e-
        return exc.msg == "Expecting ',' delimiter" and text[exc.pos - 1].isdigit() and bool(_NUMBER_TAIL.fullmatch(rest))
    except ValueError:
        return False
    return False


def _wire(payload: dict) -> bytes:
    """The camera's JSON text of a payload: a plate key that is not text is written as it is, a lone
    surrogate as its \\uXXXX escape (RecursionError when nested too deeply)."""
    escape = all(isinstance(payload[key], str) for key in ESCAPED_KEYS if key in payload)
    return (render(payload, escape) + "\n").encode("utf-8", "backslashreplace")


def _digits(value: object, most: int = 19) -> int | None:
    """value as an integer when it is ASCII digits (at most `most` of them), else None."""
    if isinstance(value, str) and 0 < len(value) <= most and value.isascii() and value.isdigit():
        return int(value)
    return None


def retime(payload: dict, shift_ms: int) -> dict:
    """The payload moved shift_ms later: capture times, frame time and datetime (in the
    camera's time zone, as the payload had it). Times that are not ASCII digits, or that
    would leave the years 1970 to 9999, stay as they are."""
    out = dict(payload)
    last_ms = LAST_SECOND * 1000
    captured = _digits(out.get("capture_timestamp"))
    if captured is not None and 0 <= captured + shift_ms <= last_ms:
        ms = captured + shift_ms
        out["capture_timestamp"] = str(ms)
        out["capture_ts"] = str(ms * 1_000_000)
        stamp = payload.get("datetime")
        parsed = parse_datetime(stamp) if isinstance(stamp, str) else None
        if parsed is not None and 0 <= parsed[0] + shift_ms <= last_ms:
            out["datetime"] = format_datetime(parsed[0] + shift_ms) + stamp[18:]  # its zone, when written
    frame = _digits(out.get("frame_timestamp"), 22)
    if frame and 0 <= frame + shift_ms * 1000 <= last_ms * 1000:
        out["frame_timestamp"] = str(frame + shift_ms * 1000)
    return out


def raw_request(data: bytes, remove: frozenset[str], add: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A recorded HTTP request with the header lines named in remove (lower-case) taken out
    and the headers of add put in place of any of the same name, at the end of the head."""
    end = data.find(b"\r\n\r\n")
    if end < 0 or not (remove or add):
        return data
    drop = remove | {name.lower() for name, _ in add}
    lines = data[:end].split(b"\r\n")
    kept, dropping = lines[:1], False
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):  # an obsolete folded continuation of the line before
            if not dropping:
                kept.append(line)
            continue
        dropping = line.split(b":", 1)[0].strip().lower().decode("latin-1") in drop
        if not dropping:
            kept.append(line)
    kept += [f"{name}: {value}".encode("utf-8") for name, value in add]
    return b"\r\n".join(kept) + data[end:]


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_credential(value: str, option: str) -> tuple[str, str]:
    """--basic USER:PASSWORD or --auth-header NAME:VALUE as a pair; ValueError (that never
    shows the secret) for one without a colon, a header name that is not a token, or a line
    break or other control character (it would inject headers)."""
    name, colon, secret = value.partition(":")
    what = "USER:PASSWORD" if option == "--basic" else "NAME:VALUE"
    if not colon:
        raise ValueError(f"expected {what} (no colon)")
    if re.search(r"[\x00-\x1f\x7f]", value):
        raise ValueError(f"{what} holds a line break or another control character")
    if option != "--basic":
        secret = secret.strip(" \t")
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"the header name {printable(name)!r} is not an HTTP token")
    return name, secret


class _Abortable:
    """The sockets a raw transport has open, so that abort() can wake a blocked send."""

    def __init__(self):
        self.aborted = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    def _connect(self, address: tuple[str, int], timeout_s: float) -> socket.socket:
        sock = connect(address, timeout_s, self.aborted)
        sock.settimeout(timeout_s)
        with self._lock:
            self._open.add(sock)
        if self.aborted.is_set():
            sock.shutdown(socket.SHUT_RDWR)
        return sock

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        sock.close()

    def abort(self) -> None:
        self.aborted.set()
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class RawHttpTransport(_Abortable):
    """Writes recorded HTTP requests as they are; the answer is read by http.client."""

    def __init__(self, url: str, timeout_s: float = 30.0):
        super().__init__()
        parts = urlsplit(url)
        if parts.scheme != "http":
            # the recorded bytes are written as they are, without TLS: never in clear to an https URL
            raise TargetError(f"a capture's recorded requests are replayed over plain HTTP only, not to "
                              f"{parts.scheme}:// (replay its packets.jsonl for https)")
        self.address = (parts.hostname, parts.port or 80)
        self.timeout_s = timeout_s

    def send(self, message: Message) -> Outcome:
        if self.aborted.is_set():
            return CANCELLED
        try:
            sock = self._connect(self.address, self.timeout_s)
        except Aborted:
            return CANCELLED
        except ConnectionRefusedError:
            return Outcome(False, "refused")
        except OSError as exc:
            return Outcome(False, f"cannot connect ({exc.strerror or exc})")
        try:
            sock.sendall(message.json)
            response = http.client.HTTPResponse(sock)
            response.begin()
            response.read(1 << 20)  # the answer's body is not kept: a bound for one that never ends
            outcome = Outcome(200 <= response.status < 300, str(response.status), status=response.status)
        except (OSError, http.client.HTTPException) as exc:
            outcome = Outcome(False, f"reset ({exc})")
        finally:
            self._forget(sock)
        return CANCELLED if self.aborted.is_set() else outcome

    def close(self) -> None:
        pass


class RawTcpTransport(_Abortable):
    """Writes recorded TCP bytes, on one connection per recorded connection."""

    def __init__(self, target: str):
        super().__init__()
        self.address = check_tcp_target(target)
        self.connections: dict[str, socket.socket] = {}

    def send(self, message: Message) -> Outcome:
        if self.aborted.is_set():
            return CANCELLED
        peer = message.json_filename  # the recorded connection
        try:
            sock = self.connections.get(peer)
            if sock is None:
                sock = self.connections[peer] = self._connect(self.address, 10.0)
            sock.sendall(message.json)
        except Aborted:
            return CANCELLED
        except OSError as exc:
            dead = self.connections.pop(peer, None)
            if dead is not None:
                self._forget(dead)
            return CANCELLED if self.aborted.is_set() else Outcome(False, f"refused or reset ({exc})")
        return Outcome(True, "sent")

    def close(self) -> None:
        for sock in self.connections.values():
            self._forget(sock)
        self.connections.clear()


def _short(value: object, most: int = 40) -> str:
    """A payload's value for a live line: text, at most `most` characters."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        text = repr(value)[:most]
    else:
        text = _kind(value)
    return text if len(text) <= most else text[:most - 3] + "..."


def replay(entries: list[Entry], http_url: str | None, tcp_target: str | None, speed: float | None,
           now: bool = False, renumber: bool = False, device_id: str | None = None, report=None,
           drain_s: float = 60.0, json_format: bool = False, basic: tuple[str, str] | None = None,
           auth_header: tuple[str, str] | None = None, notes: list[str] | None = None,
           control: list | None = None) -> Summary:
    """Send the entries in order, their recorded timing scaled by speed (None: at once).

    basic and auth_header (the user's credentials) go with every HTTP request, recorded ones
    included (in place of any recorded header of that name). A recorded request's headers
    named in its entry's "redacted" (their values are *** in the capture) are taken out
    before it is sent; notes receives one line saying how many went without them.
    control, a list, receives the Dispatcher at once: its stop() ends the replay from
    another thread."""
    if http_url:
        check_http_target(http_url)
    raw_http = [e for e in entries if e.kind == "raw-http"]
    raw_tcp = [e for e in entries if e.kind == "raw-tcp"]
    payloads = any(e.kind == "payload" for e in entries)
    if raw_http and not http_url:
        raise TargetError("this capture holds HTTP requests: give --http URL")
    if raw_tcp and not tcp_target:
        raise TargetError("this capture holds TCP traffic: give --tcp HOST:PORT")
    if payloads and not (http_url or tcp_target):
        raise TargetError("give --http URL or --tcp HOST:PORT")
    if payloads and http_url and tcp_target and not (raw_http or raw_tcp):
        raise TargetError("this file holds payloads: give --http or --tcp, not both")
    profile = Profile(id=1, protocol="http" if http_url else "tcp", url=http_url or tcp_target, image="none",
                      format="json" if json_format else "multipart",
                      auth=Auth("basic", basic[0], basic[1]) if basic else None,
                      auth_header=Auth("header", secret=auth_header[1], name=auth_header[0]) if auth_header else None)
    added = []  # the user's credentials, as headers of the recorded requests
    if basic:
        added.append(("Authorization", "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()))
    if auth_header:
        added.append(auth_header)
    given = {name.lower() for name, _ in added}
    deliveries: dict[str, Delivery] = {}
    pacer = Pacer(speed)
    if raw_http:
        deliveries["raw-http"] = Delivery(1, RawHttpTransport(http_url), report=report, pacer=pacer)
    if raw_tcp:
        deliveries["raw-tcp"] = Delivery(2, RawTcpTransport(tcp_target), report=report, pacer=pacer)
    if payloads:
        if http_url:
            transport = HttpTransport(profile, http_url)
        else:
            check_tcp_target(tcp_target)
            transport = TcpTransport(profile, tcp_target)
        deliveries["payload"] = Delivery(1, transport, report=report, pacer=pacer)
    times = [e.t_s for e in entries if e.t_s is not None]
    first = min(times) if times else 0.0
    shift_ms = 0
    if now:
        captured = [ms for e in entries if e.payload is not None
                    and (ms := _digits(e.payload.get("capture_timestamp"))) is not None]
        shift_ms = int(time.time() * 1000) - min(captured) if captured else 0
    counters: dict[str, int] = {}
    without: set[str] = set()  # redacted headers some requests were sent without
    requests_without = 0

    def schedule():
        nonlocal requests_without
        for entry in entries:
            label = {"time": int((entry.t_s or 0) * 1000)}
            if entry.kind == "payload":
                payload = retime(entry.payload, shift_ms) if shift_ms else dict(entry.payload)
                if renumber:
                    profile_id = _short(payload.get("profileID", "1"))
                    counters[profile_id] = counters.get(profile_id, 0) + 1
                    payload["packetCounter"] = str(counters[profile_id])
                if device_id is not None:
                    payload["sensorProviderID"] = device_id
                label.update({key: _short(payload.get(field, "?")) for key, field in (
                    ("profile", "profileID"), ("state", "carState"), ("carID", "carID"), ("plate", "plateUTF8"),
                    ("direction", "carMoveDirection"))})
                counter = _digits(payload.get("packetCounter"), 20)  # it names the file: digits only
                message = Message(_wire(payload), (), f"event_{counter or 0}.json", str(counter or ""))
            else:
                label.update({"profile": entry.kind, "state": "raw", "carID": "-", "plate": f"{len(entry.data)} bytes",
                              "direction": "-"})
                data = entry.data
                if entry.kind == "raw-http":
                    redacted = frozenset(entry.redacted)
                    data = raw_request(data, redacted, tuple(added))
                    if redacted - given:
                        without.update(redacted - given)
                        requests_without += 1
                message = Message(data, (), entry.peer)
            yield None if entry.t_s is None else entry.t_s - first, entry.kind, Item(message, label)

    dispatcher = Dispatcher(deliveries, pacer)
    if control is not None:
        control.append(dispatcher)
    dispatcher.play(schedule(), drain_s)
    if without and notes is not None:
        names = ", ".join(printable(name) for name in sorted(without))
        notes.append(f"{requests_without} recorded request(s) sent without their redacted credentials ({names}: the capture "
                     "holds *** in their place); give --basic or --auth-header if the receiver needs them, or "
                     "capture with `ffsim receive --capture-secrets` to keep them")
    return dispatcher.summary()

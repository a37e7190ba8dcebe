"""Validation of FF-Events traffic (FF-EVENTS.md), packet by packet. Sans-I/O: no sockets,
no files, no clock. What happened when is the caller's to say (``Validator.check``'s
``arrival_s``), so the same packets with the same arrival times give the same findings.

The validator judges what a real camera may send, not the documentation's ideal:
every firmware generation and product shape of section 10 passes (see
``identify``), and so does what a receiver started while cameras run sees first
(passages already in progress, counters in the millions). Each finding has a
severity: a ``violation`` breaks the protocol; a ``notice`` is legal but worth
knowing (a duplicate re-send after a timeout, a change of generation, ...).

Per sender (its address plus ``sensorProviderID``) the validator keeps what the
sequence rules need, all of it bounded (see ``MAX_SENDERS``, ``MAX_PASSAGES``):
packet counters per profile, each passage's lifecycle, the sender's time zone
offset (inferred from ``datetime`` minus ``capture_timestamp``) and its clock
rate (inferred from payload times against arrival times, so that the Lost timing
rule holds for a sender replayed at 50x and is skipped when it cannot be judged).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import codecs
import gc
import hashlib
import io
import json
import os
import re
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field

from ..generations import (ALL_KEYS, CAMERA_INFO_KEYS, KEYS_2019, KEYS_2021_CAMMRA, KEYS_2021_LPV,
                           NON_STRING_KEYS, SECTION4_KEYS, STORAGE_PREFIX, TABLE)
from ..vocabulary import (COLORS, DIRECTIONS, IMAGE_TYPES, LOST, NEW, PLATE_IMAGE_TYPES, RELIABLE, ROI_IDS, STATES,
                          UPDATE, VEHICLE_TYPES, VIEWS)

VIOLATION, NOTICE = "violation", "notice"

STRING_KEYS = ALL_KEYS - NON_STRING_KEYS
DIGITS = ("packetCounter", "capture_timestamp", "frame_timestamp", "capture_ts", "carID", "profileID",
          "plateImageSize", "timeProcessing")
VOCABULARY = {
    "carState": STATES,
    "carMoveDirection": DIRECTIONS,
    "roiID": ROI_IDS,
    "plateImageType": PLATE_IMAGE_TYPES,
    "imageType": IMAGE_TYPES,
    "plateListMode": ("", "allow", "block", "custom"),
}
# every vehicle_info key seen in a generation; `make` is what the vendor's own receiver reads
VEHICLE_INFO_KEYS = ("view", "type", "color", "brand", "make", "model", "confidenceMMR", "confidenceColor",
                     "coordinates")
DOCUMENTED_VEHICLE_INFO = TABLE["documented"].vehicle_info_keys(())
CAMERA_INFO_REQUIRED = ("SerialNumber", "ProdShortName", "MACAddress")  # IPAddress is absent on 2021 firmware
ARRAY_IMAGE_TYPES = ("", "vehicle", "plate") + IMAGE_TYPES  # ImageArray[].ImageType: "" in the LPV TCP sample
# Every pattern is used with fullmatch (``$`` also matches before a final newline: "5\n" is no number)
# and is ASCII: ``\d`` would take any script's digits ('٣'), which int() and float() read as numbers,
# and str.isdigit() also takes '²', which they refuse.
DATETIME = re.compile(r"(\d{8}) (\d{6})(\d{3})([+-]\d{4})?", re.ASCII)
CONFIDENCE = re.compile(r"[01]\.\d{6}", re.ASCII)
NUMBER = re.compile(r"\d{1,3}(\.\d{1,9})?", re.ASCII)  # vehicle confidences: 0-1 (2024) or percent (CAMMRA 2021)
UINT = re.compile(r"[0-9]{1,20}")
MAC = re.compile(r"([0-9A-Fa-f]{12}|[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5})?")
IMAGE_PATH = re.compile("(%s)\\d+/[^/]+" % "|".join(re.escape(p) for p in STORAGE_PREFIX.values()), re.ASCII)
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)", re.ASCII)
CONTENT_TYPES = {"jpeg": ("image/jpeg", "image/jpg", "image/pjpeg"), "jpg": ("image/jpeg", "image/jpg", "image/pjpeg"),
                 "png": ("image/png",), "bmp": ("image/bmp", "image/x-ms-bmp", "image/x-bmp")}
PIL_FORMATS = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG", "bmp": "BMP"}

# The key lists a receiver meets (section 10), by the name the summary gives them. The three
# section 4 generations share one list; ``identify`` tells them apart by their values.
FAMILIES = {"2019": KEYS_2019, "2021-lpv": KEYS_2021_LPV, "2021-cammra": KEYS_2021_CAMMRA, "2023-2024": SECTION4_KEYS}

QUARTER_HOUR_MS = 15 * 60_000
MIN_OFFSET_MS, MAX_OFFSET_MS = -12 * 3_600_000, 14 * 3_600_000  # UTC-12 .. UTC+14, every zone in use
STALE_MS = 10 * 60_000  # an open passage this long quiet while its sender goes on: its Lost is missing
FRAME_SLACK_MS = 2000  # the field once showed a frame_timestamp 666 ms before its capture

# -- memory bounds: a long `ffsim receive` must not grow without end ----------------------------
MAX_SENDERS = 1024  # senders remembered (least recently heard from is forgotten first)
MAX_PROFILES = 8  # profiles per sender (a camera has at most 3; more is hostile)
MAX_PASSAGES = 100_000  # passages remembered over all senders (least recently active forgotten first)
RECENT_PACKETS = 16  # per profile: (counter, digest, ...) of the last packets, to recognise a re-send
# per profile: how many packets a missing counter may come late (out of order) before it is a packet
# that never arrived, and how far a counter may go back and still be a late one (more: a restart);
# ffsim's reorder fault holds a packet back for at most 31 others
REORDER_PACKETS = 32
MAX_GAPS = 16  # per profile: missing counter ranges followed at once (more: the oldest never arrived)
MAX_MIX_NOTICES = 8  # per sender: "looks like another generation" notices, then only counted
MAX_ID = 40  # longest carID / profileID followed (a real one has a few digits)
MAX_NAME = 200  # longest sender name remembered
QUIET_AFTER = 10  # per profile: in-progress notices while no New was ever seen, then only counted


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a packet (or the traffic) got wrong, or is worth knowing."""

    rule: str
    message: str
    severity: str = VIOLATION
    original: int | None = None  # a duplicate: the receiver's number of the packet it repeats

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


def _notice(rule: str, message: str) -> Finding:
    return Finding(rule, message, NOTICE)


def _show(value: object, limit: int = 40) -> str:
    """value as JSON for a message, at most limit characters, whatever it holds (an integer
    too long for str(), a NaN, a lone surrogate, nesting too deep for the encoder): ASCII only,
    so no control character or look-alike reaches a terminal."""
    try:
        text = json.dumps(value)
    except (ValueError, TypeError, RecursionError):
        text = f"(a {type(value).__name__})"
    return text[:limit]


def _json_type(value: object) -> str:
    """What a decoded JSON value is, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}.get(
        type(value), f"a {type(value).__name__}")


def _names(keys: list, limit: int = 10) -> str:
    """Key names for a message: the first few, each cut short, then how many more."""
    shown = ", ".join(str(k)[:40] for k in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _box(name: str, value: object, out: list) -> None:
    """A box [x, y, w, h] is 4 integers (true and false are no integers here)."""
    if not (isinstance(value, list) and len(value) == 4 and all(type(n) is int for n in value)):
        out.append(Finding("type", f"{name} must be 4 integers, got {_show(value)}"))


# -- decoding -----------------------------------------------------------------------------
MAX_DEPTH = 512  # nesting levels decoded; deeper values are cut (json's C decoder recurses)
MAX_INT_DIGITS = 4300  # Python's default limit for int(str): more is a denial of service
MAX_LISTED = 5  # findings of one kind per document; the rest are counted in one more
DEEP = '"(nested too deeply)"'  # what stands for a value cut at MAX_DEPTH
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]+|[\]}]+')  # strings, runs of openers, of closers
_STRINGS_BYTES = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_U_ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4})*")
# UTF-32 first: its little-endian mark begins with UTF-16's
_UNICODE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                 (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def _where(text: str, pos: int) -> str:
    """A position in text as json's own errors give it: line and column (from 1), character (from 0)."""
    line = text.count("\n", 0, pos) + 1
    return f"line {line} column {pos - text.rfind(chr(10), 0, pos)} (character {pos})"


def _deep_spans(text: str, limit: int = MAX_DEPTH) -> list[tuple[int, int]]:
    """(start, end) of each value that opens nesting level limit + 1 (end: len(text) when it never
    closes). Found by counting brackets outside strings, without recursion; a text with fewer
    opening brackets than the limit is not scanned at all."""
    if text.count("[") + text.count("{") <= limit or _shallow(text):
        return []
    spans: list[tuple[int, int]] = []
    depth, start = 0, -1
    for match in _TOKENS.finditer(text):
        first = text[match.start()]
        if first == '"':
            continue
        run = match.end() - match.start()
        if first in "[{":
            if start < 0 and depth + run > limit:
                start = match.start() + max(limit - depth, 0)
            depth += run
        else:
            if start >= 0 and depth - run <= limit:
                spans.append((start, match.start() + depth - limit))
                start = -1
            depth -= run
    if start >= 0:
        spans.append((start, len(text)))
    return spans


def _shallow(text: str, levels: int = 16) -> bool:
    """Whether text is at most levels deep, decided in C: strings out, all but brackets out,
    then each round takes out the innermost pairs. Saves the scan of a wide document ([[], [],
    ...]); a deep one, or one whose brackets do not pair, is left to the scan."""
    brackets = _STRINGS_BYTES.sub(b"", text.encode("utf-8", "surrogatepass")).translate(None, _NOT_BRACKETS)
    for _ in range(levels):
        if not brackets:
            return True
        before = len(brackets)
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(brackets) > before * 0.9:  # narrow and deep: each round would copy it all for little
            return False
    return not brackets


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    """text with each span replaced by DEEP (or a shorter value where it does not fit) padded
    with spaces, its newlines kept: every later position (and line) stays where it was."""
    parts, at = [], 0
    for start, end in spans:
        span = text[start:end]
        mark = next(m for m in (DEEP, "null", "0") if len(m) <= len(span) and "\n" not in span[:len(m)])
        parts += [text[at:start], mark, "\n".join(" " * len(line) for line in span[len(mark):].split("\n"))]
        at = end
    parts.append(text[at:])
    return "".join(parts)


def _path(path: str, key: str | int) -> str:
    """path extended by a key (str) or an index (int), as $.a.b[0]["c d"]; at most ~200 characters."""
    if len(path) > 200:
        return path if path.endswith("...") else path + "..."
    if isinstance(key, int):
        return f"{path}[{key}]"
    text = str(key)
    return f"{path}.{text}" if text.isidentifier() and text.isascii() else f"{path}[{_show(key)}]"


def _nodes(root: object):
    """(path, value) of every value in root, in document order, without recursion."""
    stack: list[tuple[str, object]] = [("$", root)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack.extend(reversed([(_path(path, k), v) for k, v in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(_path(path, i), v) for i, v in enumerate(value)]))


class _Decoding:
    """The json hooks of one decode: what they met, to be told as findings."""

    def __init__(self, big_ints: bool = False):
        self.duplicated: dict[int, tuple[dict, list[str]]] = {}  # id(object) -> (object, its repeated keys)
        self.duplicate_objects = 0  # objects with a key twice
        self.constants: Counter = Counter()
        self.big_ints: list[int] = []  # digit counts
        self.overflows: list[str] = []
        self.hooks: dict = {"object_pairs_hook": self.pairs, "parse_constant": self.constant}
        if big_ints:
            self.hooks["parse_int"] = self.integer

    def pairs(self, pairs: list) -> dict:
        value = dict(pairs)
        if len(value) != len(pairs):  # as json does, the last value counts
            self.duplicate_objects += 1
            if len(self.duplicated) < MAX_LISTED:  # which keys, for the first few only: this costs
                counts = Counter(k for k, _ in pairs)
                self.duplicated[id(value)] = (value, [k for k, n in counts.items() if n > 1])
        return value

    def constant(self, name: str) -> str:
        self.constants[name] += 1
        return name  # a string: the payload stays storable as JSON

    def integer(self, digits: str) -> int | str:
        if len(digits.lstrip("-")) > MAX_INT_DIGITS:
            self.big_ints.append(len(digits.lstrip("-")))
            return digits  # int() of it is refused (and quadratic): kept as its text
        return int(digits)

    def number(self, text: str) -> float | str:
        value = float(text)
        if value in (float("inf"), float("-inf")):
            self.overflows.append(text)
            return text
        return value


def _loads(doc: str, hooks: dict) -> object:
    """json.loads, with the cyclic garbage collector paused for a large document: a 16 MiB text
    of small arrays makes millions of containers, and collections while they are made cost ten
    times the decoding itself. (It is not switched back on when someone else had paused it.)"""
    if len(doc) < 1 << 20:
        return json.loads(doc, **hooks)
    paused = gc.isenabled()
    gc.disable()
    try:
        return json.loads(doc, **hooks)
    finally:
        if paused:
            gc.enable()


def decode(text: bytes) -> tuple[object | None, list[Finding]]:
    """The JSON value of a packet's text and what is wrong with the text, never an exception.

    The value is None only when the text is no JSON at all (or nested too deeply to close).
    Otherwise it is decoded as json.loads would, but always storable as JSON again, with a
    violation for each liberty json takes and RFC 8259 does not: bytes that are not UTF-8
    (read as U+FFFD), a byte order mark, NaN and Infinity (kept as the strings "NaN", ...),
    numbers beyond a double's range and integers of more than MAX_INT_DIGITS digits (kept as
    their text), lone surrogate escapes (kept), duplicate keys (the last value counts, as in
    json), nesting over MAX_DEPTH levels (what lies deeper is replaced by DEEP)."""
    out: list[Finding] = []
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogatepass")
    doc = None
    if text.startswith(codecs.BOM_UTF8):
        out.append(Finding("json", "starts with a byte order mark (RFC 8259: a JSON text has none)"))
        text = text[len(codecs.BOM_UTF8):]
    try:
        doc = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        for bom, encoding in _UNICODE_BOMS:
            if text.startswith(bom):
                try:
                    doc = text[len(bom):].decode(encoding)
                    out.append(Finding("json", f"{encoding[:6].upper()}, not UTF-8 (RFC 8259: JSON is UTF-8)"))
                except UnicodeDecodeError:
                    pass
                break
        if doc is None:
            out.append(Finding("json", f"not UTF-8: byte 0x{text[exc.start]:02x} at byte {exc.start} ({exc.reason}); "
                                       "bytes that are not UTF-8 are read as U+FFFD"))
            doc = text.decode("utf-8", "replace")
    if not doc.strip(" \t\r\n"):
        return None, out + [Finding("json", "empty: no JSON value")]
    spans = _deep_spans(doc)
    if spans:
        out.append(Finding("json", f"nested more than {MAX_DEPTH} levels deep at {_where(doc, spans[0][0])}: "
                                   f"what lies deeper is cut"))
        doc = _cut(doc, spans)
    hooks = _Decoding()
    try:
        try:
            payload = _loads(doc, hooks.hooks)
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer of more than sys.get_int_max_str_digits() digits
            hooks = _Decoding(big_ints=True)
            payload = _loads(doc, hooks.hooks)
        try:
            json.dumps(payload, allow_nan=False)
        except ValueError:  # a number beyond a double's range became infinity: decode again, keeping its text
            hooks = _Decoding(big_ints="parse_int" in hooks.hooks)
            hooks.hooks["parse_float"] = hooks.number
            payload = _loads(doc, hooks.hooks)
    except json.JSONDecodeError as exc:
        return None, out + [Finding("json", f"not JSON at {_where(doc, exc.pos)}: {exc.msg}")]
    except (ValueError, RecursionError) as exc:  # not expected below MAX_DEPTH; never raised all the same
        return None, out + [Finding("json", f"cannot be decoded: {type(exc).__name__}: {str(exc)[:80]}")]
    for name, count in hooks.constants.items():
        times = f" ({count} times)" if count > 1 else ""
        out.append(Finding("json", f"{name}{times} is not JSON (RFC 8259 has no NaN or Infinity): kept as "
                                   f"the string \"{name}\""))
    if hooks.big_ints:
        times = f" ({len(hooks.big_ints)} such)" if len(hooks.big_ints) > 1 else ""
        out.append(Finding("json", f"an integer of {hooks.big_ints[0]} digits, more than {MAX_INT_DIGITS}{times}: "
                                   "kept as its text"))
    if hooks.overflows:
        times = f" ({len(hooks.overflows)} such)" if len(hooks.overflows) > 1 else ""
        out.append(Finding("json", f"the number {hooks.overflows[0][:40]} is beyond a double's range{times}: "
                                   "kept as its text"))
    out += _walk_findings(payload, hooks, bool(_SURROGATE_ESCAPE.search(doc)))
    return payload, out


def _walk_findings(payload: object, hooks: _Decoding, surrogates: bool) -> list[Finding]:
    """Duplicate keys and lone surrogates, each with where it is; walks the value only when the
    decoder met a duplicate or the text holds a surrogate escape."""
    out: list[Finding] = []
    if not hooks.duplicated and not surrogates:
        return out
    found_duplicates, found_surrogates, pending = 0, 0, len(hooks.duplicated)
    for path, value in _nodes(payload):
        if isinstance(value, dict):
            entry = hooks.duplicated.get(id(value))
            if entry is not None and entry[0] is value:
                pending -= 1
                for key in entry[1]:
                    found_duplicates += 1
                    if found_duplicates <= MAX_LISTED:
                        where = "the payload" if path == "$" else path
                        out.append(Finding("json", f"duplicate key {_show(key)} in {where}: the last value counts"))
            if surrogates:
                for key in value:
                    if isinstance(key, str) and _SURROGATE.search(key):
                        found_surrogates += 1
                        if found_surrogates <= MAX_LISTED:
                            out.append(_lone_surrogate(key, f"a key of {path}"))
        elif surrogates and isinstance(value, str) and _SURROGATE.search(value):
            found_surrogates += 1
            if found_surrogates <= MAX_LISTED:
                out.append(_lone_surrogate(value, path))
        if not surrogates and not pending:
            break
    if found_duplicates > MAX_LISTED or hooks.duplicate_objects > len(hooks.duplicated):
        out.append(Finding("json", f"duplicate keys in {hooks.duplicate_objects} objects in all (the first "
                                   f"{MAX_LISTED} named)"))
    if found_surrogates > MAX_LISTED:
        out.append(Finding("json", f"lone surrogates: {found_surrogates - MAX_LISTED} more strings"))
    return out


def _lone_surrogate(text: str, where: str) -> Finding:
    found = _SURROGATE.search(text)
    char = found.group() if found else "\ufffd"
    return Finding("json", f"a lone surrogate \\u{ord(char):04x} in {where}: not a character (RFC 8259 "
                           "section 8.2); kept as it is")


# -- time ---------------------------------------------------------------------------------
def format_datetime(epoch_ms: int, offset_ms: int = 0) -> str:
    """'YYYYMMDD HHMMSSfff' of epoch_ms shifted by offset_ms; the camera writes its local time
    without a zone, so the offset is the only zone knowledge needed (no zoneinfo)."""
    seconds, ms = divmod(epoch_ms + offset_ms, 1000)
    t = time.gmtime(seconds)
    return "%04d%02d%02d %02d%02d%02d%03d" % (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ms)


def parse_datetime(stamp: str) -> tuple[int, int | None] | None:
    """(the wall-clock time as if it were UTC, in ms; the +HHMM zone when written) or None."""
    match = DATETIME.fullmatch(stamp)
    if not match:
        return None
    day, clock, ms, zone = match.groups()
    try:
        y, mo, d = int(day[:4]), int(day[4:6]), int(day[6:])
        h, mi, s = int(clock[:2]), int(clock[2:4]), int(clock[4:])
        if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and h < 24 and mi < 60 and s < 60):
            return None
    except (ValueError, calendar.IllegalMonthError):
        return None
    wall = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1000 + int(ms)
    zone_ms = None
    if zone:
        zone_ms = (int(zone[1:3]) * 60 + int(zone[3:])) * 60_000 * (-1 if zone[0] == "-" else 1)
    return wall, zone_ms


def format_offset(offset_ms: int) -> str:
    sign = "-" if offset_ms < 0 else "+"
    minutes = abs(offset_ms) // 60_000
    return "%s%02d:%02d" % (sign, minutes // 60, minutes % 60)


def _duration(ms: int) -> str:
    sign = "-" if ms < 0 else "+"
    ms = abs(ms)
    return "%s%d:%02d:%02d.%03d" % (sign, ms // 3_600_000, ms // 60_000 % 60, ms // 1000 % 60, ms % 1000)


def _uint(value: object) -> int | None:
    return int(value) if isinstance(value, str) and UINT.fullmatch(value) else None


# -- generations --------------------------------------------------------------------------
def closest_family(keys: list[str]) -> str:
    """The key list (FAMILIES) nearest to keys: fewest keys missing plus keys extra."""
    present = set(keys) - {"ImageArray"}
    return min(FAMILIES, key=lambda name: len(present ^ set(FAMILIES[name])))


def identify(payload: dict, family: str | None = None) -> str:
    """The generation (vocabulary.GENERATIONS) a payload looks like, from its keys and values.

    The key set names 2019 and the two 2021 products. The three generations that send the
    section 4 keys differ by values: the documented shape has the image's size in
    plateImageSize, crop-relative boxes or the seven-key vehicle_info; a CAMMRA sends
    make/model recognition or no IPAddress; the rest is the 2024 LPV."""
    family = family or closest_family(list(payload))
    if family != "2023-2024":
        return family
    vi = payload.get("vehicle_info")
    vi = vi if isinstance(vi, dict) else {}
    ci = payload.get("camera_info")
    ci = ci if isinstance(ci, dict) else {}
    size = _uint(payload.get("plateImageSize"))
    if (size or tuple(vi) == DOCUMENTED_VEHICLE_INFO
            or payload.get("plateCoordinatesRelative") != payload.get("plateCoordinates")):
        return "documented"
    if {"brand", "make", "model", "confidenceMMR"} & vi.keys() or (ci and "IPAddress" not in ci):
        return "2024-cammra"
    return "2024-lpv"


def _escaped_values(raw: str, key: str) -> str | None:
    """The text between the quotes of key's value in raw JSON, as written."""
    # [^"\\]* runs, not one character per repetition: a long string is one step, not millions
    match = re.search(r'"%s"\s*:\s*"([^"\\]*(?:\\.[^"\\]*)*)"' % re.escape(key), raw)
    return match.group(1) if match else None


# -- heartbeats (section 7) ------------------------------------------------------------------
HEARTBEAT_GROUPS = {  # every key a group may hold; the fields are configurable, so any may be absent
    "system": ("timestamp",),
    "identify": ("platform", "version", "ipAddress", "macAddress", "osVersion", "anprVersion"),
    "ALPV": ("device_ID", "version", "numFrames", "numFramesAvg", "numberOfReads"),
}
HEARTBEAT_COUNTS = ("numFrames", "numFramesAvg", "numberOfReads")


def is_heartbeat(payload: object) -> bool:
    """Whether a payload is a heartbeat (keepalive) rather than an event: an object with no
    carState and one of the heartbeat's groups."""
    return isinstance(payload, dict) and "carState" not in payload and any(g in payload for g in HEARTBEAT_GROUPS)


def check_heartbeat(payload: object) -> list[Finding]:
    """Findings of a heartbeat (FF-EVENTS.md section 7), whatever its JSON holds: its groups
    system, identify and ALPV, each an object of strings; counts as digits, the timestamp ISO
    8601, the MAC address a MAC address. Keys no camera sends are notices."""
    if not isinstance(payload, dict):
        return [Finding("heartbeat", f"a heartbeat is a JSON object, not {_json_type(payload)}")]
    out: list[Finding] = []
    unknown = [k for k in payload if k not in HEARTBEAT_GROUPS]
    if unknown:
        out.append(Finding("heartbeat", f"unknown groups {sorted(str(k)[:40] for k in unknown)[:10]}"
                                        + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")))
    if len(unknown) == len(payload):
        out.append(Finding("heartbeat", f"none of the groups {', '.join(HEARTBEAT_GROUPS)}"))
    for group, keys in HEARTBEAT_GROUPS.items():
        if group not in payload:
            continue
        values = payload[group]
        if not isinstance(values, dict):
            out.append(Finding("heartbeat", f"{group} must be an object, got {_show(values)}"))
            continue
        strange = [k for k in values if k not in keys]
        if strange:
            out.append(_notice("heartbeat", f"{group} has keys no known camera sends: {_names(strange)}"))
        wrong = [k for k in keys if k in values and not isinstance(values[k], str)]
        for key in wrong:
            out.append(Finding("heartbeat", f"{group}.{key} must be a string, got {_show(values[key])}"))
        text = {k: v for k, v in values.items() if k in keys and isinstance(v, str)}
        for key in HEARTBEAT_COUNTS:
            if group == "ALPV" and key in text and not UINT.fullmatch(text[key]):
                out.append(Finding("heartbeat", f"ALPV.{key} must be digits, got {text[key][:40]!r}"))
        if group == "system" and "timestamp" in text and not ISO_TIME.fullmatch(text["timestamp"]):
            out.append(Finding("heartbeat", f"system.timestamp {text['timestamp'][:40]!r} is not an ISO 8601 time "
                                            "like '2026-11-24T08:00:00.000Z'"))
        if group == "identify" and "macAddress" in text and not MAC.fullmatch(text["macAddress"]):
            out.append(Finding("heartbeat", f"identify.macAddress {text['macAddress'][:40]!r} is not a MAC address"))
    return out


# -- images -------------------------------------------------------------------------------
# An image is judged by its header before any decoder sees it: a header may claim 60000 x 60000
# pixels in a few bytes (a decompression bomb), or hold thousands of segments that a decoder walks
# one by one. Only JPEG, PNG and BMP (what plateImageType names) are handed to Pillow; a JPEG is
# decoded at 1/8 scale (that finds truncated and broken data at a small fraction of the memory),
# a PNG's chunks and checksums verified, a BMP's pixel data measured; none is decoded in full.
MAX_IMAGE_PIXELS = 50_000_000  # a camera's frame has a few megapixels; 8K video has 33
MAX_IMAGE_SEGMENTS = 10_000  # JPEG segments before the frame header, PNG chunks
MAX_IMAGES = 16  # images checked per packet (a camera sends one to three)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_NOT_FILL = re.compile(rb"[^\xff]")  # a JPEG marker's code: the first byte after its 0xFF (and fill bytes)
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF0-SOF15 but DHT, JPG, DAC
_OBJECT_AT = re.compile(r" ?<[^<>]* at 0x[0-9a-fA-F]+>")  # "<_io.BytesIO object at 0x7f...>" in Pillow's errors


def image_header(data: bytes) -> tuple[str, int, int] | str:
    """(Pillow's format name, width, height) as the header of a JPEG, PNG or BMP claims them,
    or why there is none; reads the header only, in bounded steps."""
    if data.startswith(b"\xff\xd8\xff"):
        pos = 2
        for _ in range(MAX_IMAGE_SEGMENTS):
            # in two linear searches: "\xff+([^\xff])" would retry at each of a million fill bytes
            fill = data.find(b"\xff", pos)
            marker = _NOT_FILL.search(data, fill) if fill >= 0 else None
            if marker is None:
                return "a JPEG that ends before its frame header"
            code, at = data[marker.start()], marker.end()
            if code in (0x00, 0x01, 0xD8) or 0xD0 <= code <= 0xD7:  # no length follows
                pos = at
                continue
            if code in (0xD9, 0xDA):
                return "a JPEG without a frame header before its image data"
            if at + 2 > len(data):
                return "a JPEG that ends inside a segment"
            if code in _JPEG_FRAMES:
                if at + 7 > len(data):
                    return "a JPEG that ends inside its frame header"
                return "JPEG", int.from_bytes(data[at + 5:at + 7], "big"), int.from_bytes(data[at + 3:at + 5], "big")
            pos = at + max(int.from_bytes(data[at:at + 2], "big"), 2)
        return f"a JPEG of more than {MAX_IMAGE_SEGMENTS} segments before its frame header"
    if data.startswith(PNG_SIGNATURE):
        if len(data) < 24 or data[12:16] != b"IHDR":
            return "a PNG without its IHDR header"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        pos = 8
        for _ in range(MAX_IMAGE_SEGMENTS):
            if pos + 8 > len(data) or data[pos + 4:pos + 8] == b"IEND":
                return "PNG", width, height
            pos += 12 + int.from_bytes(data[pos:pos + 4], "big")
        return f"a PNG of more than {MAX_IMAGE_SEGMENTS} chunks"
    if data.startswith(b"BM"):
        if len(data) < 30:
            return "a BMP that ends inside its header"
        if int.from_bytes(data[14:18], "little") == 12:  # OS/2 1.x header: 16-bit sizes
            width, height = int.from_bytes(data[18:20], "little"), int.from_bytes(data[20:22], "little")
            bits, compression = int.from_bytes(data[24:26], "little"), 0
        else:
            width = abs(int.from_bytes(data[18:22], "little", signed=True))
            height = abs(int.from_bytes(data[22:26], "little", signed=True))
            bits = int.from_bytes(data[28:30], "little")
            compression = int.from_bytes(data[30:34], "little") if len(data) >= 34 else 0
        if compression in (0, 3, 6):  # uncompressed (or bit fields): the pixel rows' size is known
            needed = int.from_bytes(data[10:14], "little") + (width * bits + 31) // 32 * 4 * height
            if width * height <= MAX_IMAGE_PIXELS and needed > len(data):
                return f"a BMP that ends inside its pixels ({len(data)} bytes, {needed} needed)"
        return "BMP", width, height
    return "not a JPEG, PNG or BMP image"


def image_check(data: bytes) -> tuple[str | None, str | None]:
    """(the image's format, None) or (None, why it does not decode), never an exception:
    a header that claims more than MAX_IMAGE_PIXELS is refused before any decoding."""
    from PIL import Image

    header = image_header(data)
    if isinstance(header, str):
        return None, header
    fmt, width, height = header
    if width * height > MAX_IMAGE_PIXELS:
        return None, (f"its header claims {width}x{height} pixels, more than {MAX_IMAGE_PIXELS:,} "
                      "(a decompression bomb?)")
    try:
        with Image.open(io.BytesIO(data), formats=(fmt,)) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:  # the header read as Pillow reads it
                return None, f"it claims {img.width}x{img.height} pixels, more than {MAX_IMAGE_PIXELS:,}"
            fmt = img.format or fmt
            if fmt in ("JPEG", "MPO"):
                img.draft(img.mode, (max(img.width // 8, 1), max(img.height // 8, 1)))
                img.load()
            else:
                img.verify()
        return fmt, None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the sender's
        return None, _OBJECT_AT.sub("", f"{type(exc).__name__}: {exc}")[:200]


# -- the sender's clock ---------------------------------------------------------------------
INFER = "infer"


class Clock:
    """How fast a sender's clock runs against arrival time, and what its time is at an arrival.

    Points are (arrival s, payload ms) of New and Update events, whose capture time is when
    they were sent (a Lost repeats an older capture time; a Reliable waits for a timeout).
    The rate is the slope over the recent points; it counts only while the points lie close
    to that line (a sender "as fast as it can", or a buffer being emptied after an outage,
    scatters them: then there is no rate to speak of). A sender's time at an arrival is
    taken from the least delayed recent point, so network delays only make a Lost look
    later, never earlier, than it was sent.

    A sender's clock may step (set by hand or by NTP after a wrong start, a camera's clock
    fault): points that leave the line the others fit, and agree on a line of their own for
    STEP_POINTS points over MIN_SPAN_S, are a step; the points are then the new ones only,
    so that the rate and the sender's time are learnt again (``observe`` returns the step)."""

    POINTS = 128  # recent points kept
    MIN_GAP_S = 0.02  # points closer than this in arrival time are one point (the latest payload time)
    MIN_POINTS, MIN_SPAN_S = 6, 2.0  # what inferring a rate needs
    SPREAD_S = 0.5  # how far (arrival s) points may lie off the line for the rate to count
    ENVELOPE_S = 30.0  # the points a sender time is taken from: the last half minute
    JITTER_S = 0.05  # arrival jitter assumed on any path: r x this is the uncertainty of a sender time
    TIMEABLE = 0.6  # a Lost is timed while that uncertainty is below this share of the lost timeout
    STEP_S = 4 * SPREAD_S  # a point this far (arrival s) off the line the recent points fit: a step, maybe
    STEP_POINTS = 3  # points off the line that agree with each other (over MIN_SPAN_S): the step is real
    REFIT = 16  # the line a step is told from is fitted again after this many points (it moves slowly)

    def __init__(self, hint: float | None | str = INFER):
        self.hint = hint
        self.points: deque[tuple[float, int]] = deque(maxlen=self.POINTS)
        self._cache: tuple[float, str] | None = None
        self.candidate: list[tuple[float, int]] = []  # points off the line, agreeing on another one
        self.steps = 0  # steps seen: a passage whose events straddle one is not timed
        self._line: tuple[float, float] | None = None  # the last fit (see _fitted), and points since
        self._since_fit = self.REFIT

    def observe(self, arrival_s: float, payload_ms: int) -> int | None:
        """Take a point; the step (ms of the sender's time, + ahead) when it confirms that the
        sender's clock stepped, else None. A buffer being emptied (points off the line, but
        within a moment of arrival time) is no step: it does not last MIN_SPAN_S."""
        # fitting is O(POINTS log POINTS): on every point while there are few, then every REFIT points
        if self._since_fit >= (1 if len(self.points) < 2 * self.REFIT else self.REFIT):
            self._line, self._since_fit = self._fitted(), 0
        self._since_fit += 1
        fitted = self._line
        if fitted is not None:
            rate, middle = fitted
            off = arrival_s - payload_ms / 1000 / rate
            if abs(off - middle) > self.STEP_S:
                if self.candidate:
                    a0, p0 = self.candidate[0]
                    if abs(off - (a0 - p0 / 1000 / rate)) > self.SPREAD_S:
                        self.candidate.clear()  # scattered, not one new line: no step (yet)
                self.candidate.append((arrival_s, payload_ms))
                self._cache = None
                if len(self.candidate) < self.STEP_POINTS or arrival_s - self.candidate[0][0] < self.MIN_SPAN_S:
                    return None
                a0, p0 = self.candidate[0]
                step_ms = round((middle - (a0 - p0 / 1000 / rate)) * rate * 1000)
                self.points.clear()
                self.points.extend(self.candidate)
                self.candidate.clear()
                self.steps += 1
                self._line, self._since_fit = None, self.REFIT  # learnt again from the new points
                return step_ms
        self.candidate.clear()
        if self.points and arrival_s - self.points[-1][0] < self.MIN_GAP_S:
            if payload_ms >= self.points[-1][1]:  # one of a burst: keep the latest, as observed
                self.points[-1] = (arrival_s, payload_ms)
        else:
            self.points.append((arrival_s, payload_ms))
        self._cache = None
        return None

    def _fitted(self) -> tuple[float, float] | None:
        """(rate, the middle arrival offset) of the line the recent points fit, or None: no rate
        (speed max, too few points), or points that scatter."""
        if self.hint is None or len(self.points) < self.MIN_POINTS:
            return None
        rate, _ = self.rate()
        if rate is None or rate <= 0:
            return None
        offsets = sorted(a - p / 1000 / rate for a, p in self.points)
        if offsets[-1] - offsets[0] > self.SPREAD_S:
            return None
        return rate, offsets[len(offsets) // 2]

    def rate(self) -> tuple[float | None, str]:
        """(payload seconds per arrival second, how it is known) or (None, why not)."""
        if self.hint is None:
            return None, "the sender was said to run as fast as it can (speed max)"
        if self.hint != INFER:
            return float(self.hint), "given"
        if self._cache is None:
            self._cache = self._infer()
        return self._cache

    def _infer(self) -> tuple[float | None, str]:
        points = self.points
        if len(points) < self.MIN_POINTS or points[-1][0] - points[0][0] < self.MIN_SPAN_S:
            return None, (f"too few New/Update events to infer the clock rate (needs {self.MIN_POINTS} "
                          f"over {self.MIN_SPAN_S:g} s)")
        (a0, p0), (a1, p1) = points[0], points[-1]
        rate = (p1 - p0) / 1000 / (a1 - a0)
        if rate <= 0:
            return None, "payload times do not advance with arrival times"
        offsets = [a - p / 1000 / rate for a, p in points]
        spread = max(offsets) - min(offsets)
        if spread > self.SPREAD_S:
            return None, (f"payload times do not follow arrival times at one rate (scatter {spread:.1f} s): "
                          "a sender as fast as it can, or a buffer being emptied")
        return rate, "inferred"

    def sender_ms(self, arrival_s: float, rate: float) -> int | None:
        """The sender's time at arrival_s, from the least delayed recent point."""
        recent = [p + (arrival_s - a) * rate * 1000 for a, p in self.points if arrival_s - a <= self.ENVELOPE_S]
        return int(max(recent)) if recent else None


# -- what is kept per sender ------------------------------------------------------------------
@dataclass(slots=True)
class _Passage:
    last_state: str
    last_payload_ms: int | None  # capture time of its latest event (New/Update/Reliable)
    mid: bool  # first seen after its New (the receiver started while it was in progress)
    era: int = 0  # the sender's clock steps seen by its latest event (see Clock.steps)


@dataclass
class _Profile:
    last: int | None = None  # highest packetCounter of the current run of counters
    first: int | None = None  # the first packetCounter seen: not 1 means the camera ran before
    # (counter, digest, the receiver's number, arrival s, run) of the last packets
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT_PACKETS))
    first_new_car: int | None = None  # the carID of the first New seen
    saw_new: bool = False
    in_progress: int = 0  # passages first seen after their New
    epoch: int = 0  # +1 when the camera restarts (counter back to 1): its carIDs start again too
    key: object = None  # its profileID, the one string every passage's key shares
    seen: int = 0  # packets taken (re-sends not counted): the age of a missing counter
    gaps: list = field(default_factory=list)  # [first, last, seen when it opened] of counters not yet received
    run: int = 0  # +1 when the counter goes back (a restart, maybe): a counter again in a new run is no re-send
    high_car: int | None = None  # highest carID of this epoch (digits)
    back: tuple | None = None  # (counter before, counter after) of a counter back, until carIDs tell a restart
    imaged: bool = False  # it sent an image part (multipart)
    open: int = 0  # passages of this epoch with no Lost yet (remembered ones)
    ended_below: int = 0  # passages of an epoch below this one ended with a restart (seen to be one)


@dataclass
class _Sender:
    name: str = ""  # the one string every passage's key shares (a sender's name comes anew with each packet)
    profiles: OrderedDict = field(default_factory=OrderedDict)  # profileID (None when absent) -> _Profile
    packets: int = 0
    generations: Counter = field(default_factory=Counter)
    family: str | None = None  # key list of the last payload
    mix_notices: int = 0
    latest_ms: int | None = None  # latest payload time seen
    offset_ms: int | None = None  # inferred UTC offset of datetime
    offset_changed_ms: int | None = None  # payload time of the last offset change
    offset_before_ms: int | None = None  # the offset before that change
    clock: Clock = field(default_factory=Clock)
    lost_checked: int = 0
    lost_skipped: int = 0
    skip_reason: str = ""
    findings: Counter = field(default_factory=Counter)  # severity -> count
    mid_traffic: bool = False  # its traffic began before the receiver listened


class Validator:
    def __init__(self, lost_timeout_s: float = 5.0, speed: float | None | str = INFER,
                 max_senders: int = MAX_SENDERS, max_passages: int = MAX_PASSAGES):
        """lost_timeout_s: the senders' lost timeout, for the Lost timing rule.

        speed: how much faster than real time the senders run, when the caller knows it
        (``ffsim run`` does); None: as fast as they can (the timing rule is skipped);
        "infer" (default): inferred per sender from payload times against arrival times.

        max_senders, max_passages: what is remembered at most; the least recently active
        sender or passage is forgotten first (and counted in ``forgotten``)."""
        self.lost_timeout_s = lost_timeout_s
        self.speed = speed
        self.max_senders, self.max_passages = max_senders, max_passages
        self.senders: OrderedDict[str, _Sender] = OrderedDict()
        self.passages: OrderedDict[tuple, _Passage] = OrderedDict()  # (sender, profile, carID) -> _Passage
        self.forgotten = Counter()  # senders / open passages / ended passages dropped to bound memory

    def check(self, payload: object, sender: str, raw: bytes | None = None,
              images: list[tuple[str, bytes]] | None = None, arrival_s: float | None = None,
              number: int | None = None) -> list[Finding]:
        """Findings of one packet. raw: its JSON text as received; images: (Content-Type, bytes);
        arrival_s: when it arrived, in seconds of any clock that does not step (a receiver
        passes time.monotonic() read when the packet arrived; a test, made-up times). None:
        not known; the rules that need it (the clock rate, the Lost timing) pass this packet
        by and say so in sender_summary(). The validator never reads a clock itself.
        number: the receiver's number for the packet, named by a re-send's notice (Finding.original).
        images is a list (empty too) for a multipart body, None for a JSON one."""
        out: list[Finding] = []
        if not isinstance(payload, dict):
            return [Finding("json", f"the payload is {_json_type(payload)}, not an object")]
        sender = (sender if isinstance(sender, str) else str(sender))[:MAX_NAME]
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogatepass")
        state = self._sender(sender)
        sender = state.name
        state.packets += 1
        self._keys_and_types(payload, state, out)
        self._formats(payload, out)
        self._zone(payload, state, out)
        if raw is not None:
            self._escapes(payload, raw, out)
        if images is not None:
            self._images(payload, images, out)
            self._image_part(payload, state, images, out)
        if isinstance(payload.get("ImageArray"), list):
            self._image_array(payload, out)
        self._sequence(payload, sender, state, arrival_s, raw, out, number)
        for finding in out:
            state.findings[finding.severity] += 1
        return out

    def reset(self) -> None:
        """Forget every sender and passage (a new start: the next packet is a first packet)."""
        self.senders.clear()
        self.passages.clear()
        self.forgotten.clear()

    def open_passages(self) -> list[Finding]:
        """Every passage with no Lost yet, to report when the receiver stops (see _open); and what
        the counters leave open: packets that never arrived, a counter back with no carID since."""
        return [finding for _, finding in self._open()]

    def _open(self) -> list[tuple[str, Finding]]:
        """(sender, finding) of every passage with no Lost yet.

        The receiver cannot know that a sender has stopped: the camera runs on, and a vehicle may
        stand in view (a queue at a barrier) with no event and no Lost yet. So an open passage is
        a notice, unless its sender was seen from its first packet and went on sending for more
        than STALE_MS of its own time after the passage's last event: then the Lost is missing."""
        out: list[tuple[str, Finding]] = []
        for (name, profile, epoch, car), p in self.passages.items():
            if p.last_state == LOST:
                continue
            s = self.senders.get(name)
            current = s.profiles.get(profile) if s is not None else None
            restarted = current is None or current.epoch != epoch
            if current is not None and epoch < current.ended_below:
                continue  # ended by a restart, told then
            quiet_ms = (s.latest_ms - p.last_payload_ms) if s is not None and s.latest_ms is not None \
                and p.last_payload_ms is not None else 0
            first = "New" if not p.mid else p.last_state.capitalize()
            words = f"sender {name}: profile {_profile_name(profile)} carID {car} had a {first} but no Lost"
            if restarted and current is not None:
                found = _notice("lifecycle", words + " (before the camera restarted)")
            elif s is None or s.mid_traffic or p.mid or restarted or quiet_ms <= STALE_MS:
                found = _notice("lifecycle", words + f" (yet: the sender's last packet came "
                                                     f"{max(quiet_ms, 0) / 1000:.0f} s after its last event)")
            else:
                found = Finding("lifecycle", words + f", though the sender went on for {quiet_ms / 60_000:.0f} "
                                                     "min of its time after its last event")
            out.append((name, found))
        for name, s in self.senders.items():
            for profile in s.profiles.values():
                where = f"sender {name}: profile {_profile_name(profile.key)}"
                for gap in profile.gaps:  # a reorder would have filled them by now
                    out.append((name, Finding("counter", f"{where}: {_counters([gap], 'never arrived')}")))
                if profile.back is not None:
                    out.append((name, _notice("counter", f"{where}: packetCounter back to {profile.back[1]} after "
                                                         f"{profile.back[0]}, and no new carID since to tell a "
                                                         "restart by")))
        return out

    def sender_summary(self) -> dict:
        """Per sender: what it looks like and how it was judged."""
        out = {}
        rate_words = {"given": "given", "inferred": "inferred"}
        opened = self._open()
        open_by_sender = Counter(name for name, f in opened if f.rule == "lifecycle")
        # the open passages' findings count with the sender's own, as they do in the totals
        open_findings = Counter((name, f.severity) for name, f in opened)
        for name, s in self.senders.items():
            rate, how = s.clock.rate()
            if s.lost_checked and not s.lost_skipped:
                timing = "checked"
            elif s.lost_checked:
                timing = "partly checked"
            elif s.lost_skipped:
                timing = "skipped"
            else:
                timing = "no Lost yet"
            out[name] = {
                "packets": s.packets,
                "generation": s.generations.most_common(1)[0][0] if s.generations else None,
                "generations": dict(s.generations),
                "utc_offset": format_offset(s.offset_ms) if s.offset_ms is not None else None,
                "clock_rate": round(rate, 2) if rate is not None else None,
                "clock": rate_words.get(how, "unknown"),
                "lost_timing": {"status": timing, "checked": s.lost_checked, "skipped": s.lost_skipped,
                                "reason": s.skip_reason if s.lost_skipped else ("" if rate is not None else how)},
                "mid_traffic": s.mid_traffic,
                "open_passages": open_by_sender[name],
                "violations": s.findings[VIOLATION] + open_findings[(name, VIOLATION)],
                "notices": s.findings[NOTICE] + open_findings[(name, NOTICE)],
            }
        return out

    # -- bounded state ------------------------------------------------------------------------
    def _sender(self, name: str) -> _Sender:
        name = name[:MAX_NAME]
        state = self.senders.get(name)
        if state is None:
            if len(self.senders) >= self.max_senders:
                self.senders.popitem(last=False)
                self.forgotten["senders"] += 1
            state = self.senders[name] = _Sender(name=name, clock=Clock(self.speed))
        else:
            self.senders.move_to_end(name)
        return state

    @staticmethod
    def _profile(state: _Sender, profile: object) -> _Profile:
        found = state.profiles.get(profile)
        if found is None:
            if len(state.profiles) >= MAX_PROFILES:
                state.profiles.popitem(last=False)
            found = state.profiles[profile] = _Profile(key=profile)
        else:
            state.profiles.move_to_end(profile)
        return found

    def _remember(self, key: tuple, passage: _Passage) -> None:
        self.passages[key] = passage
        self.passages.move_to_end(key)
        while len(self.passages) > self.max_passages:
            (name, profile_id, epoch, _), old = self.passages.popitem(last=False)
            self.forgotten["open passages" if old.last_state != LOST else "ended passages"] += 1
            if old.last_state != LOST:
                sender = self.senders.get(name)
                profile = sender.profiles.get(profile_id) if sender is not None else None
                if profile is not None and profile.epoch == epoch:
                    profile.open -= 1

    # -- the rules -------------------------------------------------------------------------
    @staticmethod
    def _keys_and_types(p: dict, state: _Sender, out: list) -> None:
        keys = [k for k in p if k != "ImageArray"]  # inline images may come with any generation
        family = closest_family(keys)
        expected = FAMILIES[family]
        missing = [k for k in expected if k not in p]
        if missing:
            out.append(Finding("keys", f"missing: {_names(missing, 40)} (the {family} payload has them)"))
        unknown = [k for k in keys if k not in ALL_KEYS]
        if unknown:
            out.append(Finding("keys", f"unknown: {_names(unknown)}"))
        foreign = [k for k in keys if k in ALL_KEYS and k not in expected]
        if foreign:
            out.append(Finding("keys", f"{_names(foreign, 40)} not in a {family} payload"))
        known = [k for k in keys if k in expected]
        in_order = [k for k in expected if k in p]
        if known != in_order:
            first = next(a for a, b in zip(known, in_order) if a != b)
            out.append(Finding("keys", f"not in the order of a {family} payload: {first!r} comes too early"))
        generation = identify(p, family)
        state.generations[generation] += 1
        if len(state.generations) > 16:  # identify names few; bounded all the same
            del state.generations[min(state.generations, key=state.generations.get)]
        if state.family is not None and family != state.family:
            if state.mix_notices < MAX_MIX_NOTICES:
                state.mix_notices += 1
                out.append(_notice("generation", f"this payload looks like {family} after {state.family}: "
                                                 "one sender mixing firmware generations"))
        state.family = family

        for key in STRING_KEYS & p.keys():
            if not isinstance(p[key], str):
                out.append(Finding("type", f"{key} must be a string, got {_show(p[key])}"))
        geotag = p.get("geotag")
        if "geotag" in p and not (isinstance(geotag, dict) and set(geotag) == {"lat", "lon"} and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in geotag.values())):
            out.append(Finding("type", "geotag must be {\"lat\": number, \"lon\": number}"))
        for key in ("plateCoordinates", "plateCoordinatesRelative"):
            if key in p:
                _box(key, p[key], out)
        uris = p.get("imagesURI")
        if "imagesURI" in p and not (isinstance(uris, list) and all(isinstance(u, str) for u in uris)):
            out.append(Finding("type", "imagesURI must be a list of strings"))
        for key in ("imageFile", "imageFile2"):
            path = p.get(key)
            if isinstance(path, str) and path and not IMAGE_PATH.fullmatch(path):
                out.append(_notice("image-path", f"{key} {path[:80]!r} is not under a camera image folder "
                                                 f"({' or '.join(STORAGE_PREFIX.values())}N/)"))
        Validator._camera_info(p, out)
        Validator._vehicle_info(p, out)

    @staticmethod
    def _camera_info(p: dict, out: list) -> None:
        if "camera_info" not in p:
            return
        value = p["camera_info"]
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            out.append(Finding("type", "camera_info must be an object of strings"))
            return
        missing = [k for k in CAMERA_INFO_REQUIRED if k not in value]
        if missing:
            out.append(Finding("keys", f"camera_info misses {', '.join(missing)}"))
        unknown = [k for k in value if k not in CAMERA_INFO_KEYS]
        if unknown:
            out.append(_notice("keys", f"camera_info has keys no known generation sends: {_names(unknown)}"))
        mac = value.get("MACAddress")
        if isinstance(mac, str) and not MAC.fullmatch(mac):
            out.append(Finding("format", f"camera_info.MACAddress {mac[:40]!r} is not a MAC address (12 hex "
                                         "digits, with or without colons, or empty)"))

    @staticmethod
    def _vehicle_info(p: dict, out: list) -> None:
        if "vehicle_info" not in p:
            return
        value = p["vehicle_info"]
        if not isinstance(value, dict):
            out.append(Finding("type", "vehicle_info must be an object"))
            return
        if "coordinates" in value:  # CAMMRA 2021: the vehicle box [x, y, w, h]
            _box("vehicle_info.coordinates", value["coordinates"], out)
        wrong = [k for k, v in value.items() if k != "coordinates" and not isinstance(v, str)]
        for key in wrong[:MAX_LISTED]:
            out.append(Finding("type", f"vehicle_info.{str(key)[:40]} must be a string, got {_show(value[key])}"))
        if len(wrong) > MAX_LISTED:
            out.append(Finding("type", f"vehicle_info: {len(wrong) - MAX_LISTED} more values are not strings"))
        unknown = [k for k in value if k not in VEHICLE_INFO_KEYS]
        if unknown:
            out.append(_notice("keys", f"vehicle_info has keys no known generation sends: {_names(unknown)}"))
        for key in ("confidenceMMR", "confidenceColor"):
            v = value.get(key)
            if isinstance(v, str) and v and not (NUMBER.fullmatch(v) and float(v) <= 100):
                out.append(Finding("format", f"vehicle_info.{key} must be a confidence (0-1, or percent), "
                                             f"got {v[:40]!r}"))
        # values outside the vocabulary seen so far are legal (the vocabularies grow), so notices
        for key, allowed in (("type", VEHICLE_TYPES), ("view", VIEWS), ("color", COLORS)):
            v = value.get(key)
            if isinstance(v, str) and v and v not in allowed:
                out.append(_notice("vocabulary", f"vehicle_info.{key} {v[:40]!r} is none of the known values"))

    @staticmethod
    def _formats(p: dict, out: list) -> None:
        def text(key: str) -> str | None:
            value = p.get(key)
            return value if isinstance(value, str) else None

        for key in DIGITS:
            value = text(key)
            if value is not None and not UINT.fullmatch(value):
                out.append(Finding("format", f"{key} must be digits, got {value[:40]!r}"))
        for key, allowed in VOCABULARY.items():
            value = text(key)
            if value is not None and value not in allowed:
                out.append(Finding("vocabulary", f"{key} must be one of {', '.join(repr(a) for a in allowed)}, "
                                                 f"got {value[:40]!r}"))
        conf = text("plateConfidence")
        if conf is not None and not (CONFIDENCE.fullmatch(conf) and float(conf) <= 1):
            out.append(Finding("format", f"plateConfidence must have 6 decimals between 0 and 1, got {conf[:40]!r}"))
        ms = _uint(text("capture_timestamp"))
        if ms is None:
            return
        capture_ts = text("capture_ts")
        if capture_ts is not None and capture_ts != str(ms * 1_000_000):
            out.append(Finding("timestamps", f"capture_ts {capture_ts[:40]} is not capture_timestamp x 10^6"))
        frame = _uint(text("frame_timestamp"))
        state = text("carState")
        if frame is not None:
            if state == LOST and frame != 0:
                out.append(Finding("timestamps", f"a Lost has frame_timestamp \"0\", got {text('frame_timestamp')!r}"))
            elif state in (NEW, UPDATE, RELIABLE) and not (state == RELIABLE and frame == 0) \
                    and abs(frame / 1000 - ms) > FRAME_SLACK_MS:
                out.append(Finding("timestamps", f"frame_timestamp {frame} (µs) is more than "
                                                 f"{FRAME_SLACK_MS / 1000:g} s from capture_timestamp {ms}"))

    @staticmethod
    def _zone(p: dict, state: _Sender, out: list) -> None:
        """datetime is capture_timestamp in the camera's local time: the difference is the sender's
        UTC offset, a whole number of quarter hours, and stays the same (but for a daylight-saving
        change of one hour)."""
        stamp = p.get("datetime")
        if not isinstance(stamp, str):
            return
        parsed = parse_datetime(stamp)
        if parsed is None:
            out.append(Finding("timestamps", f"datetime {stamp[:40]!r} is not a real 'YYYYMMDD HHMMSSfff' time"))
            return
        wall, zone = parsed
        ms = _uint(p.get("capture_timestamp"))
        if ms is None:  # 2019: datetime is the only time
            return
        offset = wall - ms
        if zone is not None and offset != zone:
            out.append(Finding("timestamps", f"datetime {stamp!r} says zone {format_offset(zone)} but is "
                                             f"capture_timestamp {_duration(offset)}"))
            return
        if offset % QUARTER_HOUR_MS or not MIN_OFFSET_MS <= offset <= MAX_OFFSET_MS:
            hint = ""
            if MIN_OFFSET_MS - 3_600_000 <= offset <= MAX_OFFSET_MS + 3_600_000:
                near = round(offset / QUARTER_HOUR_MS) * QUARTER_HOUR_MS
                hint = f"; with that zone it would be {format_datetime(ms, near)!r}"
            out.append(Finding("timestamps", f"datetime {stamp!r} is capture_timestamp {_duration(offset)}: not a "
                                             f"time zone (a whole number of quarter hours, -12 to +14 h){hint}"))
            return
        if state.offset_ms is None:
            state.offset_ms = offset
        elif offset != state.offset_ms:
            if offset == state.offset_before_ms and state.offset_changed_ms is not None \
                    and ms < state.offset_changed_ms:
                # captured before the change (a Lost repeats its result's older capture time,
                # a passage begun before it still sends Updates): the offset of its own time
                return
            before, state.offset_ms = state.offset_ms, offset
            state.offset_before_ms = before
            recent = state.offset_changed_ms is not None and abs(ms - state.offset_changed_ms) < 86_400_000
            state.offset_changed_ms = ms
            words = f"datetime is now UTC{format_offset(offset)}, was UTC{format_offset(before)}"
            if abs(offset - before) == 3_600_000 and not recent:
                out.append(_notice("timestamps", words + " (a daylight-saving change?)"))
            else:
                out.append(Finding("timestamps", words + ": a sender's datetime keeps one offset"))

    @staticmethod
    def _escapes(p: dict, raw: bytes, out: list) -> None:
        text = raw.decode("utf-8", "replace")
        utf8 = p.get("plateUTF8")
        if isinstance(utf8, str) and "\ufffd" in utf8 and b"\xef\xbf\xbd" not in raw:
            utf8 = None  # bytes that are not UTF-8 (decode() said so): nothing to compare with
        for key in ("plateText", "plateUnicode"):
            written = _escaped_values(text, key)
            if written is None:
                continue
            if len(written) % 6 or not _U_ESCAPES.fullmatch(written):
                out.append(Finding("plate-text", f"{key} is not written as \\uXXXX escapes"))
            elif isinstance(utf8, str) and p.get(key) != utf8:
                out.append(Finding("plate-text", f"{key} {repr(p.get(key))[:40]} does not match plateUTF8 "
                                                 f"{utf8[:40]!r}"))

    @staticmethod
    def _decodes(data: bytes) -> tuple[str | None, str | None]:
        """(the image's format, None) or (None, why it does not decode); fast whatever data holds."""
        return image_check(data)

    @staticmethod
    def _images(p: dict, images: list[tuple[str, bytes]], out: list) -> None:
        kind = p.get("plateImageType")
        for index, (content_type, data) in enumerate(images[:MAX_IMAGES]):
            where = "image" if index == 0 else f"image {index + 1}"
            content_type = content_type if isinstance(content_type, str) else ""
            mime = content_type.split(";")[0].strip().lower()
            if isinstance(kind, str) and kind in CONTENT_TYPES and mime not in CONTENT_TYPES[kind]:
                out.append(Finding("image", f"{where} is {content_type[:60]!r}, plateImageType says {kind!r}"))
            _, error = image_check(data)
            if error:
                out.append(Finding("image", f"{where} does not decode: {error}"))
        if len(images) > MAX_IMAGES:
            out.append(_notice("image", f"{len(images)} images: only the first {MAX_IMAGES} are checked"))
        size = _uint(p.get("plateImageSize"))
        # "0" in every real payload; the image's size only in the documented shape
        if images and size and size != len(images[0][1]):
            out.append(Finding("image", f"plateImageSize {size} but the image has {len(images[0][1])} bytes"))

    def _image_part(self, p: dict, state: _Sender, images: list, out: list) -> None:
        """A multipart body with no image where imageType names one: legal (a profile's "skip
        image", FF-EVENTS.md section 10: receivers that fail on it exist), so a notice, given when
        the profile sent images before (a profile that never does is set up so: not noted)."""
        profile_id = p.get("profileID")
        profile = self._profile(state, profile_id[:MAX_ID] if isinstance(profile_id, str) else None)
        if images:
            profile.imaged = True
            return
        kind = p.get("imageType")
        if profile.imaged and isinstance(kind, str) and kind:
            out.append(_notice("image", f"imageType {kind[:40]!r} names an image but no image part came, where "
                                        f"profile {_profile_name(profile.key)} sent images before (the camera's "
                                        "skip image?)"))

    @staticmethod
    def _image_array(p: dict, out: list) -> None:
        entries = p["ImageArray"]
        for index, entry in enumerate(entries[:MAX_IMAGES]):
            where = f"ImageArray[{index}]"
            if not (isinstance(entry, dict) and all(isinstance(entry.get(k), str)
                                                    for k in ("ImageType", "ImageFormat", "BinaryImage"))):
                out.append(Finding("type", f"{where} must hold the strings ImageType, ImageFormat and BinaryImage"))
                continue
            if entry["ImageType"] not in ARRAY_IMAGE_TYPES:
                out.append(_notice("vocabulary", f"{where}.ImageType {entry['ImageType'][:40]!r} is none of the "
                                                 "known values"))
            try:
                data = base64.b64decode(entry["BinaryImage"], validate=True)
            except (binascii.Error, ValueError):
                out.append(Finding("image", f"{where}.BinaryImage is not base64"))
                continue
            fmt, error = image_check(data)
            if error:
                out.append(Finding("image", f"{where} does not decode: {error}"))
            elif PIL_FORMATS.get(entry["ImageFormat"].lower(), fmt) != fmt:
                out.append(Finding("image", f"{where} is {fmt}, ImageFormat says {entry['ImageFormat'][:20]!r}"))
        if len(entries) > MAX_IMAGES:
            out.append(_notice("image", f"ImageArray has {len(entries)} images: only the first {MAX_IMAGES} "
                                        "are checked"))

    # -- sequence ---------------------------------------------------------------------------
    def _sequence(self, p: dict, name: str, state: _Sender, arrival_s: float | None, raw: bytes | None,
                  out: list, number: int | None = None) -> None:
        profile_id = p.get("profileID")
        # absent (2019, 2021): one profile; cut, as every remembered key is, so that memory stays bounded
        profile_id = profile_id[:MAX_ID] if isinstance(profile_id, str) else None
        profile = self._profile(state, profile_id)
        profile_id = profile.key
        counter = _uint(p.get("packetCounter"))
        late = None  # why a lifecycle complaint is a notice: the packets are out of order
        if counter is not None:
            digest = hashlib.blake2b(raw if raw is not None else _canonical(p), digest_size=12).digest()
            taken, late = self._counter(profile, counter, digest, state, arrival_s, out)
            if not taken:
                return  # a re-send: it was taken the first time, so it changes no lifecycle
            if late is None and profile.gaps:
                late = f"out of order: {_counters(profile.gaps, 'not yet received')}"
            profile.recent.append((counter, digest, number, arrival_s, profile.run))
        car, car_state = p.get("carID"), p.get("carState")
        if not isinstance(car, str) or len(car) > MAX_ID or car_state not in STATES:
            return  # no lifecycle to follow (the format rules have said what is wrong)
        payload_ms = _uint(p.get("capture_timestamp"))
        if payload_ms is None and isinstance(p.get("datetime"), str):  # 2019: local time, as good for a rate
            parsed = parse_datetime(p["datetime"])
            payload_ms = parsed[0] if parsed else None
        if payload_ms is not None and car_state in (NEW, UPDATE) and arrival_s is not None:
            step_ms = state.clock.observe(arrival_s, payload_ms)
            if step_ms is not None:
                out.append(_notice("timestamps", f"the sender's clock stepped by about {_seconds(step_ms)} "
                                                 "(its capture times against arrival times): the Lost timing "
                                                 "learns its clock again"))
        if payload_ms is not None:
            state.latest_ms = max(payload_ms, state.latest_ms or 0)
        key = (name, profile_id, profile.epoch, car)
        passage = self.passages.get(key)
        if profile.back is not None and (passage is None or car_state == NEW):
            # a new passage after the counter went back (a New is one, even with an old carID): its
            # carID tells whether the camera restarted
            passage = self._restart(name, profile, car, out)
            key = (name, profile_id, profile.epoch, car)
        number_car = _uint(car)
        if number_car is not None and (profile.high_car is None or number_car > profile.high_car):
            profile.high_car = number_car
        if passage is None:
            self._first_event(p, profile, profile_id, car, car_state, payload_ms, key, out, late, state)
            return
        self.passages.move_to_end(key)

        def complain(words: str) -> None:
            out.append(_notice("lifecycle", f"{words} ({late})") if late else Finding("lifecycle", words))

        if passage.last_state == LOST:
            complain(f"carID {car}: {car_state} after its Lost")
            return  # the passage stays ended
        if car_state == NEW:
            complain(f"carID {car}: a second New")
            if late:
                passage.mid = False  # its New came after all
                return
        elif car_state == RELIABLE and passage.last_state == RELIABLE:
            out.append(Finding("lifecycle", f"carID {car}: a second Reliable (one per passage)"))
        elif car_state == LOST:
            self._lost_timing(state, passage, car, arrival_s, out)
            if key[2] == profile.epoch:
                profile.open -= 1
        passage.last_state = car_state if not (car_state == UPDATE and passage.last_state == RELIABLE) else RELIABLE
        if payload_ms is not None and car_state != LOST:
            passage.last_payload_ms = max(payload_ms, passage.last_payload_ms or 0)
            passage.era = state.clock.steps

    def _counter(self, profile: _Profile, counter: int, digest: bytes, state: _Sender, arrival_s: float | None,
                 out: list) -> tuple[bool, str | None]:
        """The counter rules: (False for a re-send, the same bytes again; what makes this packet
        late, when it fills a gap: its lifecycle may be out of order)."""
        late = None
        shown = _profile_name(profile.key)
        if profile.first is None:
            profile.first = profile.last = counter
            if counter != 1:
                state.mid_traffic = True  # the camera sent before the receiver listened
            profile.seen += 1
            return True, None
        last = profile.last if profile.last is not None else counter  # set with first
        for seen_counter, seen_digest, seen_number, seen_s, _ in reversed(profile.recent):
            if seen_counter == counter and seen_digest == digest:
                # the same packet again: the camera re-sent it after a timeout (the receiver was slow
                # to answer, or the answer was lost); it was taken the first time
                which = f" as arrival #{seen_number}" if seen_number is not None else ""
                when = f" ({arrival_s - seen_s:.1f} s earlier)" if arrival_s is not None and seen_s is not None \
                    else ""
                out.append(Finding("duplicate", f"profile {shown}: packet {counter} received again, the same "
                                                f"bytes{which}{when}: a re-send after a timeout?", NOTICE,
                                   seen_number))
                return False, None
        gap = next((g for g in profile.gaps if g[0] <= counter <= g[1]), None)
        if gap is not None:
            out.append(_notice("counter", f"profile {shown}: packet {counter} arrived after {last} (out of order)"))
            late = f"out of order: packet {counter} arrived after {last}"
            index = profile.gaps.index(gap)
            rest = [[lo, hi, gap[2]] for lo, hi in ((gap[0], counter - 1), (counter + 1, gap[1])) if lo <= hi]
            profile.gaps[index:index + 1] = rest
        elif counter < last and (counter <= 1 or last - counter > REORDER_PACKETS):
            self._never_arrived(profile, profile.gaps, out)  # they will not come now
            profile.gaps = []
            profile.run += 1
            if profile.back is None:
                profile.back = (last, counter)
            else:
                profile.back = (profile.back[0], counter)
            if profile.high_car is None:  # no carID to tell a restart by: taken as one, as it looks
                profile.back = None
                out.append(_notice("counter", f"profile {shown}: packetCounter starts again at {counter} after "
                                              f"{last} (the camera restarted?)"))
                self._new_epoch(profile)
            profile.last = counter
        elif any(c == counter and run == profile.run for c, _, _, _, run in profile.recent):
            out.append(Finding("counter", f"profile {shown}: packetCounter {counter} again, with another payload"))
        elif counter > last + 1:
            profile.gaps.append([last + 1, counter - 1, profile.seen])  # late packets may fill it
            profile.last = counter
        elif counter <= last:
            out.append(Finding("counter", f"profile {shown}: packetCounter {counter} after {last}"))
        else:
            profile.last = counter
        profile.seen += 1
        old = [g for g in profile.gaps if profile.seen - g[2] > REORDER_PACKETS]
        if len(profile.gaps) - len(old) > MAX_GAPS:
            old += profile.gaps[:len(profile.gaps) - len(old) - MAX_GAPS]
        if old:
            self._never_arrived(profile, old, out)
            profile.gaps = [g for g in profile.gaps if not any(g is o for o in old)]
        return True, late

    @staticmethod
    def _never_arrived(profile: _Profile, gaps: list, out: list) -> None:
        for gap in gaps:
            out.append(Finding("counter", f"profile {_profile_name(profile.key)}: "
                                          f"{_counters([gap], 'never arrived')}"))

    @staticmethod
    def _new_epoch(profile: _Profile) -> None:
        """The camera restarted: its carIDs start again, so its passages before stay apart."""
        profile.epoch += 1
        profile.first_new_car, profile.saw_new, profile.in_progress, profile.high_car = None, False, 0, None
        profile.open = 0

    def _restart(self, name: str, profile: _Profile, car: str, out: list) -> _Passage | None:
        """The counter went back (profile.back), and car is a new passage: its carID tells whether
        the camera restarted (carIDs start again too) or not. car's passage as remembered then."""
        number, back, high = _uint(car), profile.back, profile.high_car
        if number is None or back is None or high is None:
            return self.passages.get((name, profile.key, profile.epoch, car))
        before, after = back
        profile.back = None
        shown = _profile_name(profile.key)
        if number > high:
            out.append(Finding("counter", f"profile {shown}: packetCounter back to {after} after {before} but "
                                          f"carIDs go on ({number} after {high}): not a restart"))
            return self.passages.get((name, profile.key, profile.epoch, car))
        # a restart: the passages it cut ended without a Lost (the camera forgot them); they stay in
        # memory (their keys hold the old epoch) until they age out, no longer open
        cut = profile.open
        ended = f"{cut} passage{'s' if cut != 1 else ''} ended without a Lost" if cut else "no passage was under way"
        out.append(_notice("counter", f"profile {shown}: restart: packetCounter back to {after} after {before} and "
                                      f"carIDs back to {number} after {high}: {ended} (the camera restarted)"))
        self._new_epoch(profile)
        profile.ended_below = profile.epoch
        return self.passages.get((name, profile.key, profile.epoch, car))

    def _first_event(self, p: dict, profile: _Profile, profile_id, car: str, car_state: str, payload_ms,
                     key: tuple, out: list, late: str | None = None, state: _Sender | None = None) -> None:
        era = state.clock.steps if state is not None else 0
        if car_state == NEW:
            if p.get("carMoveDirection") != "unknown":
                out.append(Finding("lifecycle", f"carID {car}: New with direction "
                                                f"{_show(p.get('carMoveDirection'))}"))
            profile.saw_new = True
            if profile.first_new_car is None:
                profile.first_new_car = _uint(car)
            profile.open += 1
            self._remember(key, _Passage(NEW, payload_ms, False, era))
            return
        number = _uint(car)
        if profile.first_new_car is not None and number is not None and number > profile.first_new_car:
            # carIDs count up: this passage began after one whose New arrived, so its New should have too
            words = (f"carID {car}: first event is {car_state}, not new (carID {profile.first_new_car} had its "
                     "New)")
            out.append(_notice("lifecycle", f"{words} ({late})") if late else Finding("lifecycle", words))
        else:
            # begun before the receiver listened (or the profile does not send New): legal. A profile
            # that never sent a New is noted QUIET_AFTER times, then only counted: it may send no New.
            profile.in_progress += 1
            words = f"carID {car}: first seen as {car_state}; its New came before the receiver listened"
            if not profile.saw_new and profile.in_progress == QUIET_AFTER:
                words += (f" (no New from profile {_profile_name(profile_id)} in {QUIET_AFTER} passages: it may "
                          "not send New; not noted again)")
            if profile.saw_new or profile.in_progress <= QUIET_AFTER:
                out.append(_notice("lifecycle", words))
        if car_state != LOST:
            profile.open += 1
        self._remember(key, _Passage(car_state, None if car_state == LOST else payload_ms, True, era))

    def _lost_timing(self, state: _Sender, passage: _Passage, car: str, arrival_s: float | None,
                     out: list) -> None:
        """A Lost comes at least the lost timeout after the passage's last recognition, so after its
        last event: judged in the sender's time (its clock rate known or inferred)."""
        if passage.last_payload_ms is None:
            return
        if state.clock.candidate or passage.era != state.clock.steps:
            state.lost_skipped += 1
            state.skip_reason = "the sender's clock stepped: its time is being learnt again"
            return
        if arrival_s is None:
            state.lost_skipped += 1
            state.skip_reason = "no arrival time given for the Lost"
            return
        timeout_ms = self.lost_timeout_s * 1000
        rate, why = state.clock.rate()
        if rate is not None and rate * Clock.JITTER_S * 1000 > timeout_ms * Clock.TIMEABLE:
            rate, why = None, (f"at {rate:.3g}x, {Clock.JITTER_S * 1000:.0f} ms of arrival jitter is "
                               f"{rate * Clock.JITTER_S:.1f} s of the sender's time: too coarse for a "
                               f"{self.lost_timeout_s:g} s lost timeout")
        sent = state.clock.sender_ms(arrival_s, rate) if rate is not None else None
        if sent is None:
            state.lost_skipped += 1
            state.skip_reason = why if rate is None else "no recent New/Update to time it by"
            return
        state.lost_checked += 1
        waited = (sent - passage.last_payload_ms) / 1000
        # slack: the sender sends a little after its capture (processing, image saving), and the
        # arrival jitter is uncertainty in the sender's time
        if waited + rate * Clock.JITTER_S < 0.8 * self.lost_timeout_s:
            out.append(Finding("lifecycle", f"carID {car}: Lost {max(waited, 0):.1f} s after its last event, "
                                            f"before the {self.lost_timeout_s:g} s lost timeout"))


def _canonical(p: dict) -> bytes:
    """p's JSON text with sorted keys, to recognise a re-send; a value json cannot write (an integer
    too long, nesting too deep) makes it unique: such a payload is never taken for a re-send."""
    try:
        return json.dumps(p, sort_keys=True).encode()
    except (ValueError, TypeError, RecursionError):
        return os.urandom(16)


def _counters(gaps: list, words: str) -> str:
    """'packet 12 never arrived', 'packets 12-13, 15 not yet received': the counters of gaps."""
    parts = [str(g[0]) if g[0] == g[1] else f"{g[0]}-{g[1]}" for g in gaps[:5]]
    more = f" and {len(gaps) - 5} more ranges" if len(gaps) > 5 else ""
    plural = len(gaps) > 1 or gaps[0][0] != gaps[0][1]
    return f"packet{'s' if plural else ''} {', '.join(parts)}{more} {words}"


def _seconds(ms: int) -> str:
    """+3600 s, -30 s, +2.5 s."""
    return f"{ms / 1000:+.0f} s" if abs(ms) >= 10_000 else f"{ms / 1000:+.1f} s"


def _profile_name(profile: object) -> str:
    return "(none)" if profile is None else str(profile)

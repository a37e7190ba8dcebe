"""Validation of FF-Events traffic (FF-EVENTS.md), packet by packet. Sans-I/O.

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
import hashlib
import io
import json
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
DATETIME = re.compile(r"^(\d{8}) (\d{6})(\d{3})([+-]\d{4})?$")
CONFIDENCE = re.compile(r"^[01]\.\d{6}$")
NUMBER = re.compile(r"^\d{1,3}(\.\d{1,9})?$")  # vehicle confidences: 0-1 (2024) or percent (CAMMRA 2021)
UINT = re.compile(r"^[0-9]{1,20}$")  # ASCII digits only: str.isdigit() also takes '²', which int() refuses
MAC = re.compile(r"^([0-9A-Fa-f]{12}|[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5})?$")
IMAGE_PATH = re.compile("^(%s)\\d+/[^/]+$" % "|".join(re.escape(p) for p in STORAGE_PREFIX.values()))
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
RECENT_PACKETS = 16  # per profile: (counter, digest) of the last packets, to recognise a re-send
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

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


def _notice(rule: str, message: str) -> Finding:
    return Finding(rule, message, NOTICE)


def _box(name: str, value: object, out: list) -> None:
    """A box [x, y, w, h] is 4 integers (true and false are no integers here)."""
    if not (isinstance(value, list) and len(value) == 4 and all(type(n) is int for n in value)):
        out.append(Finding("type", f"{name} must be 4 integers, got {json.dumps(value)[:40]}"))


# -- time ---------------------------------------------------------------------------------
def format_datetime(epoch_ms: int, offset_ms: int = 0) -> str:
    """'YYYYMMDD HHMMSSfff' of epoch_ms shifted by offset_ms; the camera writes its local time
    without a zone, so the offset is the only zone knowledge needed (no zoneinfo)."""
    seconds, ms = divmod(epoch_ms + offset_ms, 1000)
    t = time.gmtime(seconds)
    return "%04d%02d%02d %02d%02d%02d%03d" % (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ms)


def parse_datetime(stamp: str) -> tuple[int, int | None] | None:
    """(the wall-clock time as if it were UTC, in ms; the +HHMM zone when written) or None."""
    match = DATETIME.match(stamp)
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
    return int(value) if isinstance(value, str) and UINT.match(value) else None


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
    match = re.search(r'"%s"\s*:\s*"((?:[^"\\]|\\.)*)"' % re.escape(key), raw)
    return match.group(1) if match else None


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
    later, never earlier, than it was sent."""

    POINTS = 128  # recent points kept
    MIN_GAP_S = 0.02  # points closer than this in arrival time are one point (the latest payload time)
    MIN_POINTS, MIN_SPAN_S = 6, 2.0  # what inferring a rate needs
    SPREAD_S = 0.5  # how far (arrival s) points may lie off the line for the rate to count
    ENVELOPE_S = 30.0  # the points a sender time is taken from: the last half minute
    JITTER_S = 0.05  # arrival jitter assumed on any path: r x this is the uncertainty of a sender time
    TIMEABLE = 0.6  # a Lost is timed while that uncertainty is below this share of the lost timeout

    def __init__(self, hint: float | None | str = INFER):
        self.hint = hint
        self.points: deque[tuple[float, int]] = deque(maxlen=self.POINTS)
        self._cache: tuple[float, str] | None = None

    def observe(self, arrival_s: float, payload_ms: int) -> None:
        if self.points and arrival_s - self.points[-1][0] < self.MIN_GAP_S:
            if payload_ms >= self.points[-1][1]:  # one of a burst: keep the latest, as observed
                self.points[-1] = (arrival_s, payload_ms)
        else:
            self.points.append((arrival_s, payload_ms))
        self._cache = None

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


@dataclass
class _Profile:
    last: int | None = None  # last packetCounter
    first: int | None = None  # the first packetCounter seen: not 1 means the camera ran before
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT_PACKETS))  # (counter, digest)
    first_new_car: int | None = None  # the carID of the first New seen
    saw_new: bool = False
    in_progress: int = 0  # passages first seen after their New
    epoch: int = 0  # +1 when the camera restarts (counter back to 1): its carIDs start again too


@dataclass
class _Sender:
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
              images: list[tuple[str, bytes]] | None = None, arrival_s: float | None = None) -> list[Finding]:
        """Findings of one packet. raw: its JSON text as received; images: (Content-Type, bytes);
        arrival_s: when it arrived (any monotonic clock in seconds; now when not given)."""
        out: list[Finding] = []
        if not isinstance(payload, dict):
            return [Finding("json", f"the payload is a JSON {type(payload).__name__}, not an object")]
        sender = sender[:MAX_NAME]
        state = self._sender(sender)
        state.packets += 1
        self._keys_and_types(payload, state, out)
        self._formats(payload, out)
        self._zone(payload, state, out)
        if raw is not None:
            self._escapes(payload, raw, out)
        if images is not None:
            self._images(payload, images, out)
        if isinstance(payload.get("ImageArray"), list):
            self._image_array(payload, out)
        self._sequence(payload, sender, state, arrival_s if arrival_s is not None else time.monotonic(), raw, out)
        for finding in out:
            state.findings[finding.severity] += 1
        return out

    def open_passages(self) -> list[Finding]:
        """Every passage with no Lost yet, to report when the receiver stops (see _open)."""
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
        return out

    def sender_summary(self) -> dict:
        """Per sender: what it looks like and how it was judged."""
        out = {}
        rate_words = {"given": "given", "inferred": "inferred"}
        open_by_sender = Counter(k[0] for k, p in self.passages.items() if p.last_state != LOST)
        # the open passages' findings count with the sender's own, as they do in the totals
        open_findings = Counter((name, f.severity) for name, f in self._open())
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
            state = self.senders[name] = _Sender(clock=Clock(self.speed))
        else:
            self.senders.move_to_end(name)
        return state

    @staticmethod
    def _profile(state: _Sender, profile: object) -> _Profile:
        found = state.profiles.get(profile)
        if found is None:
            if len(state.profiles) >= MAX_PROFILES:
                state.profiles.popitem(last=False)
            found = state.profiles[profile] = _Profile()
        else:
            state.profiles.move_to_end(profile)
        return found

    def _remember(self, key: tuple, passage: _Passage) -> None:
        self.passages[key] = passage
        self.passages.move_to_end(key)
        while len(self.passages) > self.max_passages:
            _, old = self.passages.popitem(last=False)
            self.forgotten["open passages" if old.last_state != LOST else "ended passages"] += 1

    # -- the rules -------------------------------------------------------------------------
    @staticmethod
    def _keys_and_types(p: dict, state: _Sender, out: list) -> None:
        keys = [k for k in p if k != "ImageArray"]  # inline images may come with any generation
        family = closest_family(keys)
        expected = FAMILIES[family]
        missing = [k for k in expected if k not in p]
        if missing:
            out.append(Finding("keys", f"missing: {', '.join(missing)} (the {family} payload has them)"))
        unknown = [k for k in keys if k not in ALL_KEYS]
        if unknown:
            out.append(Finding("keys", f"unknown: {', '.join(unknown)}"))
        foreign = [k for k in keys if k in ALL_KEYS and k not in expected]
        if foreign:
            out.append(Finding("keys", f"{', '.join(foreign)} not in a {family} payload"))
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
                out.append(Finding("type", f"{key} must be a string, got {json.dumps(p[key])[:40]}"))
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
            if isinstance(path, str) and path and not IMAGE_PATH.match(path):
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
            out.append(_notice("keys", f"camera_info has keys no known generation sends: {', '.join(unknown)}"))
        mac = value.get("MACAddress")
        if isinstance(mac, str) and not MAC.match(mac):
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
        for key, v in value.items():
            if key == "coordinates":  # CAMMRA 2021: the vehicle box [x, y, w, h]
                _box("vehicle_info.coordinates", v, out)
            elif not isinstance(v, str):
                out.append(Finding("type", f"vehicle_info.{key} must be a string, got {json.dumps(v)[:40]}"))
        unknown = [k for k in value if k not in VEHICLE_INFO_KEYS]
        if unknown:
            out.append(_notice("keys", f"vehicle_info has keys no known generation sends: {', '.join(unknown)}"))
        for key in ("confidenceMMR", "confidenceColor"):
            v = value.get(key)
            if isinstance(v, str) and v and not (NUMBER.match(v) and float(v) <= 100):
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
            if value is not None and not UINT.match(value):
                out.append(Finding("format", f"{key} must be digits, got {value[:40]!r}"))
        for key, allowed in VOCABULARY.items():
            value = text(key)
            if value is not None and value not in allowed:
                out.append(Finding("vocabulary", f"{key} must be one of {', '.join(repr(a) for a in allowed)}, "
                                                 f"got {value[:40]!r}"))
        conf = text("plateConfidence")
        if conf is not None and not (CONFIDENCE.match(conf) and float(conf) <= 1):
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
        for key in ("plateText", "plateUnicode"):
            written = _escaped_values(text, key)
            if written is None:
                continue
            if not re.fullmatch(r"(\\u[0-9a-fA-F]{4})*", written):
                out.append(Finding("plate-text", f"{key} is not written as \\uXXXX escapes"))
            elif isinstance(utf8, str) and p.get(key) != utf8:
                out.append(Finding("plate-text", f"{key} {p.get(key)!r} does not match plateUTF8 {utf8!r}"))

    @staticmethod
    def _decodes(data: bytes) -> tuple[str | None, str | None]:
        """(the image's format, None) or (None, why it does not decode)."""
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format
                img.verify()
            return fmt, None
        except Exception as exc:  # noqa: BLE001 - any decoder failure (or a decompression bomb) is the sender's
            return None, f"{type(exc).__name__}: {exc}"[:200]

    @staticmethod
    def _images(p: dict, images: list[tuple[str, bytes]], out: list) -> None:
        kind = p.get("plateImageType")
        for index, (content_type, data) in enumerate(images):
            where = "image" if index == 0 else f"image {index + 1}"
            mime = content_type.split(";")[0].strip().lower()
            if isinstance(kind, str) and kind in CONTENT_TYPES and mime not in CONTENT_TYPES[kind]:
                out.append(Finding("image", f"{where} is {content_type!r}, plateImageType says {kind!r}"))
            _, error = Validator._decodes(data)
            if error:
                out.append(Finding("image", f"{where} does not decode: {error}"))
        size = _uint(p.get("plateImageSize"))
        # "0" in every real payload; the image's size only in the documented shape
        if images and size and size != len(images[0][1]):
            out.append(Finding("image", f"plateImageSize {size} but the image has {len(images[0][1])} bytes"))

    @staticmethod
    def _image_array(p: dict, out: list) -> None:
        for index, entry in enumerate(p["ImageArray"]):
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
            fmt, error = Validator._decodes(data)
            if error:
                out.append(Finding("image", f"{where} does not decode: {error}"))
            elif PIL_FORMATS.get(entry["ImageFormat"].lower(), fmt) != fmt:
                out.append(Finding("image", f"{where} is {fmt}, ImageFormat says {entry['ImageFormat'][:20]!r}"))

    # -- sequence ---------------------------------------------------------------------------
    def _sequence(self, p: dict, name: str, state: _Sender, arrival_s: float, raw: bytes | None, out: list) -> None:
        profile_id = p.get("profileID")
        # absent (2019, 2021): one profile; cut, as every remembered key is, so that memory stays bounded
        profile_id = profile_id[:MAX_ID] if isinstance(profile_id, str) else None
        profile = self._profile(state, profile_id)
        counter = _uint(p.get("packetCounter"))
        if counter is not None:
            digest = hashlib.blake2b(raw if raw is not None else json.dumps(p, sort_keys=True).encode(),
                                     digest_size=12).digest()
            if profile.first is None:
                profile.first = counter
                if counter != 1:
                    state.mid_traffic = True  # the camera sent before the receiver listened
            elif (counter, digest) in profile.recent:
                # the same packet again: the camera re-sent it after a timeout (the receiver was slow
                # to answer); it was taken the first time, so it changes no lifecycle
                out.append(_notice("duplicate", f"profile {_profile_name(profile_id)}: packet {counter} received "
                                                f"again (a re-send after a timeout?)"))
                return
            elif any(c == counter for c, _ in profile.recent):
                out.append(Finding("counter", f"profile {_profile_name(profile_id)}: packetCounter {counter} "
                                              "again, with another payload"))
            elif counter == 1 and profile.last is not None and profile.last > 1:
                out.append(_notice("counter", f"profile {_profile_name(profile_id)}: packetCounter starts again "
                                              f"at 1 after {profile.last} (the camera restarted?)"))
                # its carIDs start again too: the passages before stay apart (and age out of memory)
                profile.epoch += 1
                profile.first_new_car, profile.saw_new, profile.in_progress = None, False, 0
            elif profile.last is not None and counter != profile.last + 1:
                out.append(Finding("counter", f"profile {_profile_name(profile_id)}: packetCounter {counter} "
                                              f"after {profile.last}"))
            profile.recent.append((counter, digest))
            profile.last = counter
        car, car_state = p.get("carID"), p.get("carState")
        if not isinstance(car, str) or len(car) > MAX_ID or car_state not in STATES:
            return  # no lifecycle to follow (the format rules have said what is wrong)
        payload_ms = _uint(p.get("capture_timestamp"))
        if payload_ms is None and isinstance(p.get("datetime"), str):  # 2019: local time, as good for a rate
            parsed = parse_datetime(p["datetime"])
            payload_ms = parsed[0] if parsed else None
        if payload_ms is not None and car_state in (NEW, UPDATE):
            state.clock.observe(arrival_s, payload_ms)
        if payload_ms is not None:
            state.latest_ms = max(payload_ms, state.latest_ms or 0)
        key = (name, profile_id, profile.epoch, car)
        passage = self.passages.get(key)
        if passage is None:
            self._first_event(p, profile, profile_id, car, car_state, payload_ms, key, out)
            return
        self.passages.move_to_end(key)
        if passage.last_state == LOST:
            out.append(Finding("lifecycle", f"carID {car}: {car_state} after its Lost"))
            return  # the passage stays ended
        if car_state == NEW:
            out.append(Finding("lifecycle", f"carID {car}: a second New"))
        elif car_state == RELIABLE and passage.last_state == RELIABLE:
            out.append(Finding("lifecycle", f"carID {car}: a second Reliable (one per passage)"))
        elif car_state == LOST:
            self._lost_timing(state, passage, car, arrival_s, out)
        passage.last_state = car_state if not (car_state == UPDATE and passage.last_state == RELIABLE) else RELIABLE
        if payload_ms is not None and car_state != LOST:
            passage.last_payload_ms = max(payload_ms, passage.last_payload_ms or 0)

    def _first_event(self, p: dict, profile: _Profile, profile_id, car: str, car_state: str, payload_ms,
                     key: tuple, out: list) -> None:
        if car_state == NEW:
            if p.get("carMoveDirection") != "unknown":
                out.append(Finding("lifecycle", f"carID {car}: New with direction "
                                                f"{repr(p.get('carMoveDirection'))[:40]}"))
            profile.saw_new = True
            if profile.first_new_car is None:
                profile.first_new_car = _uint(car)
            self._remember(key, _Passage(NEW, payload_ms, False))
            return
        number = _uint(car)
        if profile.first_new_car is not None and number is not None and number > profile.first_new_car:
            # carIDs count up: this passage began after one whose New arrived, so its New should have too
            out.append(Finding("lifecycle", f"carID {car}: first event is {car_state}, not new (carID "
                                            f"{profile.first_new_car} had its New)"))
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
        self._remember(key, _Passage(car_state, None if car_state == LOST else payload_ms, True))

    def _lost_timing(self, state: _Sender, passage: _Passage, car: str, arrival_s: float, out: list) -> None:
        """A Lost comes at least the lost timeout after the passage's last recognition, so after its
        last event: judged in the sender's time (its clock rate known or inferred)."""
        if passage.last_payload_ms is None:
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


def _profile_name(profile: object) -> str:
    return "(none)" if profile is None else str(profile)

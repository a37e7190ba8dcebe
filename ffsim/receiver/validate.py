"""Validation of FF-Events traffic (FF-EVENTS.md), packet by packet. Sans-I/O.

A Validator keeps, per sender, what it needs to check continuity (packetCounter
per profile) and each passage's lifecycle (per carID). Every violation is one
clear line; the caller still stores the packet.
"""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import dataclass, field

from ..protocol.payload import KEY_ORDER, format_datetime

STRING_KEYS = frozenset(KEY_ORDER) - {"geotag", "plateCoordinates", "plateCoordinatesRelative", "imagesURI",
                                      "vehicle_info", "camera_info"}
DIGITS = ("packetCounter", "capture_timestamp", "frame_timestamp", "capture_ts", "carID", "profileID",
          "plateImageSize", "timeProcessing")
VOCABULARY = {
    "carState": ("new", "update", "lost"),
    "carMoveDirection": ("unknown", "in", "out"),
    "roiID": ("1", "2"),
    "plateImageType": ("jpeg", "png", "bmp"),
    "imageType": ("plate", "mmrcrop", "vehicle", "frame"),
    "plateListMode": ("", "allow", "block", "custom"),
}
VEHICLE_INFO = ("type", "view", "brand", "color", "model", "confidenceMMR", "confidenceColor")
CAMERA_INFO = ("SerialNumber", "ProdShortName", "IPAddress", "MACAddress")
DATETIME = re.compile(r"^\d{8} \d{9}([+-]\d{4})?$")
CONFIDENCE = re.compile(r"^[01]\.\d{6}$")
CONTENT_TYPES = {"jpeg": ("image/jpeg", "image/jpg"), "png": ("image/png",), "bmp": ("image/bmp", "image/x-ms-bmp")}


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


@dataclass(slots=True)
class _Passage:
    last_state: str
    last_arrival_s: float


@dataclass
class _Sender:
    counters: dict = field(default_factory=dict)  # profileID -> last packetCounter
    passages: dict = field(default_factory=dict)  # (profileID, carID) -> _Passage; each profile sends them all


def _escaped_values(raw: str, key: str) -> str | None:
    """The text between the quotes of key's value in raw JSON, as written."""
    match = re.search(r'"%s"\s*:\s*"((?:[^"\\]|\\.)*)"' % re.escape(key), raw)
    return match.group(1) if match else None


class Validator:
    def __init__(self, lost_timeout_s: float = 5.0, speed: float | None = 1.0):
        """speed: how much faster than real time the sender runs (None: as fast as it can,
        so timing rules that need real time are not checked)."""
        self.lost_timeout_s = lost_timeout_s
        self.speed = speed
        self.senders: dict[str, _Sender] = {}

    def check(self, payload: object, sender: str, raw: bytes | None = None,
              images: list[tuple[str, bytes]] | None = None, arrival_s: float | None = None) -> list[Violation]:
        """Violations of one packet. raw: its JSON text as received; images: (Content-Type, bytes)."""
        out: list[Violation] = []
        if not isinstance(payload, dict):
            return [Violation("json", f"the payload is a JSON {type(payload).__name__}, not an object")]
        self._keys_and_types(payload, out)
        self._formats(payload, out)
        if raw is not None:
            self._escapes(payload, raw, out)
        if images is not None:
            self._images(payload, images, out)
        self._sequence(payload, sender, arrival_s if arrival_s is not None else time.monotonic(), out)
        return out

    def open_passages(self) -> list[Violation]:
        """Every New that never got its Lost (to report when the traffic ends)."""
        return [Violation("lifecycle", f"sender {name}: profile {profile} carID {car} had a New but no Lost")
                for name, s in self.senders.items() for (profile, car), p in s.passages.items()
                if p.last_state != "lost"]

    # -- the rules -------------------------------------------------------------------------
    @staticmethod
    def _keys_and_types(p: dict, out: list) -> None:
        missing = [k for k in KEY_ORDER if k not in p]
        if missing:
            out.append(Violation("keys", f"missing: {', '.join(missing)}"))
        extra = [k for k in p if k not in KEY_ORDER and k != "ImageArray"]
        if extra:
            out.append(Violation("keys", f"unknown: {', '.join(extra)}"))
        present = [k for k in KEY_ORDER if k in p]
        if not missing and list(k for k in p if k != "ImageArray") != present:
            out.append(Violation("keys", "not in the documented order"))
        for key in STRING_KEYS & p.keys():
            if not isinstance(p[key], str):
                out.append(Violation("type", f"{key} must be a string, got {json.dumps(p[key])[:40]}"))
        geotag = p.get("geotag")
        if "geotag" in p and not (isinstance(geotag, dict) and set(geotag) == {"lat", "lon"} and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in geotag.values())):
            out.append(Violation("type", "geotag must be {\"lat\": number, \"lon\": number}"))
        for key in ("plateCoordinates", "plateCoordinatesRelative"):
            value = p.get(key)
            if key in p and not (isinstance(value, list) and len(value) == 4 and all(
                    type(v) is int for v in value)):
                out.append(Violation("type", f"{key} must be 4 integers, got {json.dumps(value)[:40]}"))
        uris = p.get("imagesURI")
        if "imagesURI" in p and not (isinstance(uris, list) and all(isinstance(u, str) for u in uris)):
            out.append(Violation("type", "imagesURI must be a list of strings"))
        for key, names in (("vehicle_info", VEHICLE_INFO), ("camera_info", CAMERA_INFO)):
            value = p.get(key)
            if key not in p:
                continue
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                out.append(Violation("type", f"{key} must be an object of strings"))
            elif [k for k in names if k not in value]:
                out.append(Violation("keys", f"{key} misses {', '.join(k for k in names if k not in value)}"))

    @staticmethod
    def _formats(p: dict, out: list) -> None:
        def text(key: str) -> str | None:
            value = p.get(key)
            return value if isinstance(value, str) else None

        for key in DIGITS:
            value = text(key)
            if value is not None and not value.isdigit():
                out.append(Violation("format", f"{key} must be digits, got {value!r}"))
        for key, allowed in VOCABULARY.items():
            value = text(key)
            if value is not None and value not in allowed:
                out.append(Violation("vocabulary", f"{key} must be one of {', '.join(repr(a) for a in allowed)}, "
                                                   f"got {value!r}"))
        conf = text("plateConfidence")
        if conf is not None and not CONFIDENCE.match(conf):
            out.append(Violation("format", f"plateConfidence must have 6 decimals between 0 and 1, got {conf!r}"))
        capture = text("capture_timestamp")
        if capture is None or not capture.isdigit():
            return
        ms = int(capture)
        capture_ts = text("capture_ts")
        if capture_ts is not None and capture_ts != str(ms * 1_000_000):
            out.append(Violation("timestamps", f"capture_ts {capture_ts} is not capture_timestamp x 10^6"))
        stamp = text("datetime")
        if stamp is not None:
            expected = format_datetime(ms)
            if not DATETIME.match(stamp) or stamp[:18] != expected:
                out.append(Violation("timestamps", f"datetime {stamp!r} is not {expected!r} (capture_timestamp, UTC)"))
        frame = text("frame_timestamp")
        state = text("carState")
        if frame is not None and frame.isdigit():
            if state == "lost" and frame != "0":
                out.append(Violation("timestamps", f"a Lost has frame_timestamp \"0\", got {frame!r}"))
            elif state in ("new", "update") and abs(int(frame) / 1000 - ms) > 1000:
                out.append(Violation("timestamps", f"frame_timestamp {frame} (µs) is far from capture_timestamp {ms}"))

    @staticmethod
    def _escapes(p: dict, raw: bytes, out: list) -> None:
        text = raw.decode("utf-8", "replace")
        utf8 = p.get("plateUTF8")
        for key in ("plateText", "plateUnicode"):
            written = _escaped_values(text, key)
            if written is None:
                continue
            if not re.fullmatch(r"(\\u[0-9a-fA-F]{4})*", written):
                out.append(Violation("plate-text", f"{key} is not written as \\uXXXX escapes"))
            elif isinstance(utf8, str) and p.get(key) != utf8:
                out.append(Violation("plate-text", f"{key} {p.get(key)!r} does not match plateUTF8 {utf8!r}"))

    @staticmethod
    def _images(p: dict, images: list[tuple[str, bytes]], out: list) -> None:
        from PIL import Image, UnidentifiedImageError

        kind = p.get("plateImageType")
        for index, (content_type, data) in enumerate(images):
            where = "image" if index == 0 else f"image {index + 1}"
            if isinstance(kind, str) and kind in CONTENT_TYPES and content_type.lower() not in CONTENT_TYPES[kind]:
                out.append(Violation("image", f"{where} is {content_type!r}, plateImageType says {kind!r}"))
            try:
                with Image.open(io.BytesIO(data)) as img:
                    img.verify()
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
                out.append(Violation("image", f"{where} does not decode: {exc}"))
        size = p.get("plateImageSize")
        if images and isinstance(size, str) and size.isdigit() and size != "0" and int(size) != len(images[0][1]):
            out.append(Violation("image", f"plateImageSize {size} but the image has {len(images[0][1])} bytes"))

    def _sequence(self, p: dict, sender: str, arrival_s: float, out: list) -> None:
        state = self.senders.setdefault(sender, _Sender())
        profile, counter = p.get("profileID"), p.get("packetCounter")
        if isinstance(counter, str) and counter.isdigit():
            previous = state.counters.get(profile)
            if previous is not None and int(counter) != previous + 1:
                out.append(Violation("counter", f"profile {profile}: packetCounter {counter} after {previous}"))
            state.counters[profile] = int(counter)
        car, car_state = p.get("carID"), p.get("carState")
        if not isinstance(car, str) or car_state not in ("new", "update", "lost"):
            return
        passage = state.passages.get((profile, car))
        if passage is None:
            if car_state != "new":
                out.append(Violation("lifecycle", f"carID {car}: first event is {car_state}, not new"))
            elif p.get("carMoveDirection") != "unknown":
                out.append(Violation("lifecycle", f"carID {car}: New with direction {p.get('carMoveDirection')!r}"))
            state.passages[(profile, car)] = _Passage(car_state, arrival_s)
            return
        if passage.last_state == "lost":
            out.append(Violation("lifecycle", f"carID {car}: {car_state} after its Lost"))
            return  # the passage stays ended
        if car_state == "new":
            out.append(Violation("lifecycle", f"carID {car}: a second New"))
        elif car_state == "lost" and self.speed is not None:
            waited = (arrival_s - passage.last_arrival_s) * self.speed
            if waited < self.lost_timeout_s * 0.9:  # a little slack for the network
                out.append(Violation("lifecycle", f"carID {car}: Lost {waited:.1f} s after its last event, "
                                                  f"before the {self.lost_timeout_s:g} s lost timeout"))
        passage.last_state = car_state
        passage.last_arrival_s = arrival_s

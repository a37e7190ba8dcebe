"""The JSON Schema of scenario and fleet files for editors (``ffsim schema``; issue 12, item 1).

yaml-language-server (VS Code's YAML extension, JetBrains, Neovim) completes and checks a file
from a JSON Schema: this module derives one from the loader's own schema (``schema.SCENARIO`` and
``schema.FLEET``, left as they are) with what an editor shows: a description and the default of
every key, enums as they are, examples of durations, rates, points and polygons. The loader's
``x-message`` becomes ``errorMessage`` (the message yaml-language-server shows for that value).

The two agree: where the loader takes an unquoted YAML number as text (``plate: 1234``: see
``loader._texts_stay_texts``), this schema accepts the number too; YAML timestamps (``start:
2026-11-24T08:00:00Z``) are text for both, as YAML 1.2 says. Integers stay ``"type": "integer"``:
a standard validator also takes 5.0 there (JSON Schema cannot tell 5.0 from 5), the loader does
not. The checks that need arithmetic (polygons inside the frame, intervals in order, unique ids,
zones referred to...) are the loader's alone: ``ffsim validate`` has the last word.

The shipped copies, ``ffsim/schema/*.schema.json``, are this module's output (a test compares).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from .. import vocabulary as V
from . import schema as S

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCENARIO_ID = "https://ffsim.invalid/schema/scenario.schema.json"
FLEET_ID = "https://ffsim.invalid/schema/fleet.schema.json"

DURATION_EXAMPLES = ["500ms", "5s", "1.5s", "2m", "1h"]
RATE_EXAMPLES = ["300/h", "5/min", "0.5/s"]
POINT_EXAMPLES = [[960, 540]]
POLYGON_EXAMPLES = [[[0, 300], [1920, 300], [1920, 1080], [0, 1080]]]
INTERVAL_EXAMPLES = [["1m", "2m"]]

# -- descriptions and defaults, by key path ------------------------------------------------------
# "a.b" is key b of object a; "a[].b" key b of the objects listed in a. Each entry: description,
# and the default where the key has one (the README's "Scenario format v1" and the model's values).
_NO = object()
Doc = tuple  # (description, default or _NO[, examples])

_AUTH = {
    "auth": ("HTTP authentication: {type: basic | digest, user: ..., password: ...}.", _NO),
    "auth.type": ("basic or digest.", _NO),
    "auth.user": ("The user name (printable ASCII).", _NO),
    "auth.password": ("The password (printable ASCII; never printed by ffsim).", _NO),
    "auth_header": ("A custom header carrying a secret, the camera's x_auth_key: {name: X-Auth-Key, value: ...}.",
                    _NO),
    "auth_header.name": ("The header's name (default X-Auth-Key: nginx and Werkzeug drop names with underscores).",
                         "X-Auth-Key"),
    "auth_header.value": ("The header's value (printable ASCII).", _NO),
    "ca_file": ("A private CA's certificate file (PEM) to verify HTTPS with; HTTPS verifies by default.", _NO),
    "insecure": ("true accepts any certificate (self-signed receivers); not with ca_file.", False),
}
_LIST_ENTRY = {
    "plate": ("The plate, as the camera shows it.", _NO),
    "description": ("plateListDescription sent for a plate matching this entry.", ""),
    "date": ("When the entry was made, for people reading the file (not sent).", _NO),
}

SCENARIO_DOCS: dict[str, Doc] = {
    "version": ("The scenario format version: always 1.", _NO),
    "name": ("The scenario's name (default: the file's name without .yaml).", _NO),
    "description": ("What the scenario shows, for people.", _NO),
    "seed": ("Seed of everything random: the same file and seed give byte-identical output.", 0),
    "start": ("Virtual time of t=0, ISO 8601 (2026-11-24T08:00:00Z); without an offset, the camera's local time. "
              "Default (null): the moment the run starts.", None, ["2026-11-24T08:00:00Z", "2026-11-24T08:00:00"]),
    "camera": ("The camera: identity, frame, firmware generation and what varies within one.", _NO),
    "camera.device_id": ("sensorProviderID (a profile may override it).", "CAMERA-1"),
    "camera.serial": ("camera_info.SerialNumber.", "ACCC8E000001"),
    "camera.model": ("camera_info.ProdShortName.", "AXIS P1465-LE"),
    "camera.mac": ("camera_info.MACAddress (default: the serial).", _NO),
    "camera.ip": ("camera_info.IPAddress.", "192.168.0.90"),
    "camera.geotag": ("The camera's position: {lat: 50.08804, lon: 14.42076}.", _NO),
    "camera.geotag.lat": ("Latitude in degrees, -90 to 90.", 0),
    "camera.geotag.lon": ("Longitude in degrees, -180 to 180.", 0),
    "camera.geo_target": ("GEOtarget.", "Camera"),
    "camera.resolution": ("[width, height] of the frame in pixels; zones and paths are in these pixels.",
                          [1920, 1080]),
    "camera.fps": ("Recognitions per second (frames at t = k / fps), 0.01 to 120.", 10),
    "camera.image_folders": ("The numbered folders of the image names: {plate: 12, vehicle: 13}.", _NO),
    "camera.image_folders.plate": ("Folder number of plate images.", 12),
    "camera.image_folders.vehicle": ("Folder number of vehicle images.", 13),
    "camera.timezone": ("IANA time zone name; datetime and image names are local time.", "UTC",
                        ["Europe/Prague", "UTC"]),
    "camera.firmware": ("The payload shape of a firmware generation: 2019 2021-lpv 2021-cammra 2024-lpv "
                        "2024-cammra documented. Its defaults apply to the keys below.", V.DEFAULT_GENERATION),
    "camera.recognises": ("What the camera recognises besides the plate (view type color make): the keys of "
                          "vehicle_info. Default: the generation's (2024-lpv: view, type, color).",
                          ["view", "type", "color"]),
    "camera.make_key": ("brand | make: vehicle_info's name of the make (the vendor's own receiver reads make).",
                        "brand"),
    "camera.mac_format": ("plain | colons | empty | as-given. Default: the generation's (2024-lpv: plain).", "plain"),
    "camera.storage": ("internal (localdata/images/) | sd_card (/var/spool/storage/SD_DISK/...). Default: the "
                       "generation's (2024-lpv: internal).", "internal"),
    "camera.plate_crop_name": ("lp | lpup: the kind in plate image names.", "lp"),
    "camera.image_array_type": ("empty | named: ImageArray[].ImageType \"\" or \"vehicle\"/\"plate\".", "empty"),
    "camera.relative_coordinates": ("frame (= plateCoordinates, 2023+) | crop (relative to the image, 2021, the "
                                    "docs). Default: the generation's (2024-lpv: frame).", "frame"),
    "camera.plate_image_size": ("zero (\"0\", the field) | actual (the attached image's size, the docs). Default: "
                                "the generation's (2024-lpv: zero).", "zero"),
    "camera.frame_phase": ("The frame clock's sub-millisecond phase: seeded, or a duration under 1ms. Default: "
                           "the generation's (seeded; 0 for documented).", "seeded", ["seeded", "0.437ms", 0]),
    "camera.image_save_delay": ("[min, max]: images are saved (and named) this long after the capture (seeded). "
                                "Default: the generation's (2024-lpv: [20ms, 300ms]).", ["20ms", "300ms"]),
    "camera.lost_images": ("result: a Lost names its result's images | capture: those of its own capture. Default: "
                           "the generation's (2024-lpv: result).", "result"),
    "camera.camera_id": ("cameraId of 2019 payloads (default: the serial).", _NO),
    "recognition": ("How the camera recognises passages: timeouts, direction, plate text.", _NO),
    "recognition.lost_timeout": ("Lost after the vehicle is unseen for more than this.", "5s"),
    "recognition.direction_min_travel": ("Pixels of movement before a direction is decided (> 0).", 40),
    "recognition.update_interval": ("> 0 merges changes into one Update, never delaying one longer.", "0s"),
    "recognition.first_car_id": ("carID of the first passage, then +1 per passage.", 1),
    "recognition.plate_separators": ("strip | keep: spaces and dashes of the plate as shown.", "strip"),
    "recognition.plate_ascii": ("unfolded | folded: plateASCII as the docs show, or TÖ -> TO.", "unfolded"),
    "recognition.reliable_confidence": ("A Reliable when the reported plate's confidence reaches this...", 0.9),
    "recognition.reliable_timeout": ("...or this long after the New, whichever first.", "1s"),
    "zones": ("The recognition zones (ROIs): 1 or 2.", _NO),
    "zones[].id": ("The zone's id, 1 or 2 (roiID); where zones overlap the lower id wins.", _NO),
    "zones[].polygon": ("The zone's polygon in frame pixels, at least 3 points [[x, y], ...].", _NO,
                        POLYGON_EXAMPLES),
    "zones[].direction": ("The installer's arrow in degrees: 0 up the image, 90 right, 180 down, 270 left. Along it "
                          "is `in`, against it `out`.", _NO, [180, 0]),
    "zones[].name": ("A name for people reading the file (not sent).", _NO),
    "vehicles": ("Vehicles written one by one, each with its path through the frame.", []),
    "vehicles[].plate": ("The plate as the vehicle shows it (1 to 32 characters).", _NO, ["5SX 2207"]),
    "vehicles[].country": ("ISO 3166-1 alpha-3 code of the plate's country.", "CZE", ["CZE", "DEU"]),
    "vehicles[].region": ("plateRegion (default: derived from the plate where known).", _NO),
    "vehicles[].region_code": ("plateRegionCode (default: derived from the plate where known).", _NO),
    "vehicles[].iso3166_2": ("plateISO3166-2.", ""),
    "vehicles[].brand": ("vehicle_info make (\"\" when not given).", ""),
    "vehicles[].model": ("vehicle_info model (\"\" when not given).", ""),
    "vehicles[].color": ("vehicle_info color (none when not given).", _NO),
    "vehicles[].type": ("vehicle_info type.", "CAR"),
    "vehicles[].view": ("front | rear (default: front when moving down the image, else rear).", _NO),
    "vehicles[].confidence_mmr": ("Confidence of make and model (default: seeded when brand is given, else 0).", _NO),
    "vehicles[].confidence_color": ("Confidence of the color (default: seeded).", _NO),
    "vehicles[].plate_size": ("[width, height] of the plate in pixels (default: by the country's plate shape, "
                              "scaled to the frame width).", _NO, [[140, 30]]),
    "vehicles[].at": ("When the vehicle appears at the first point of its path.", "0s"),
    "vehicles[].path": ("Straight segments through these points [x, y] in frame pixels; {at: [x, y], wait: 20s} "
                        "waits there. A timed path gives every point its time instead: {at: [x, y], time: 1.5s}.",
                        _NO, [[[960, 320], {"at": [960, 700], "wait": "20s"}, [960, 1060]],
                              [[960, 320], {"at": [960, 700], "time": "2s"}, {"at": [960, 700], "time": "9s"},
                               {"at": [960, 1060], "time": "10.5s"}]]),
    "vehicles[].path[].at": ("The point [x, y] in frame pixels.", _NO, POINT_EXAMPLES),
    "vehicles[].path[].wait": ("How long the vehicle stands at this point (not in a timed path).", "0s"),
    "vehicles[].path[].time": ("A timed path: when the vehicle is at this point, after its `at`. Every point has "
                               "one (the first may leave it out: 0), each later than the one before; between two "
                               "points the vehicle moves straight and evenly, and the same point twice is a wait. "
                               "No speed or duration then.", _NO, ["1.5s", "12.3s"]),
    "vehicles[].duration": ("Moving time of the whole path (or give speed, not both).", _NO),
    "vehicles[].speed": ("Speed in pixels per second (or give duration, not both).", _NO, [200]),
    "vehicles[].hidden": ("Intervals [start, end) after `at` when the vehicle is not recognised (occlusions).", [],
                          [[["1s", "1.5s"]]]),
    "vehicles[].reads": ("The OCR sequence; every read but the last has `for` (default: the plate, read right).",
                         _NO, [[{"text": "5SX2201", "confidence": 0.55, "for": "0.3s"},
                                {"text": "5SX2207", "confidence": 0.91}]]),
    "vehicles[].reads[].text": ("The text read.", _NO),
    "vehicles[].reads[].confidence": ("Its confidence, 0 to 1 (default: seeded per vehicle, 0.80 to 0.98).", _NO),
    "vehicles[].reads[].for": ("How long this read lasts (every read but the last).", _NO),
    "traffic": ("Generated flows of vehicles, any number.", []),
    "traffic[].zone": ("The zone the flow drives through (1 or 2).", _NO),
    "traffic[].rate": ("Poisson arrivals: N/h, N/min or N/s.", _NO),
    "traffic[].from": ("When the flow starts.", "0s"),
    "traffic[].until": ("When the flow ends (default: never; use --until).", _NO),
    "traffic[].direction": ("Weights of vehicles along (in) and against (out) the zone's arrow.",
                            {"in": 0.5, "out": 0.5}),
    "traffic[].direction.in": ("Weight of vehicles along the zone's arrow (0 when only out is given).", _NO),
    "traffic[].direction.out": ("Weight of vehicles against the zone's arrow (0 when only in is given).", _NO),
    "traffic[].speed": ("[min, max] speed in pixels per second, uniform.", [150, 400]),
    "traffic[].countries": ("Weights of the plates' countries (CZE DEU GBR USA POL UKR FRA SWE).", {"CZE": 1},
                            [{"CZE": 0.8, "DEU": 0.2}]),
    "traffic[].misread": ("Share of vehicles first misread for 1-3 frames, then corrected; or shares of kinds "
                          "{substitution: 0.1, growing: 0.05, regression: 0.02}.", 0),
    "traffic[].misread.substitution": ("Share of vehicles with a character misread, then corrected.", 0),
    "traffic[].misread.growing": ("Share of vehicles read partly first, the text growing.", 0),
    "traffic[].misread.regression": ("Share of vehicles whose right read regresses to a wrong one.", 0),
    "traffic[].lateral": ("[min, max] offset in pixels across the arrow from the zone's centre.", [-20, 20]),
    "lists": ("Allow, block and custom lists: plateList, plateListMode, plateListDescription.", _NO),
    "lists.allow": ("Plates on the allow list (a plate, or {plate, description}).", []),
    "lists.block": ("Plates on the block list (a plate, or {plate, description}).", []),
    "lists.custom": ("Plates on the custom list (a plate, or {plate, description}).", []),
    "lists.match": ("soft (1-2 differing characters match) | strict.", "soft"),
    "heartbeat": ("The camera's periodic keepalive, a JSON POST (FF-EVENTS.md section 7).", _NO),
    "heartbeat.url": ("Where it goes (default: the --http URL of the run).", _NO),
    "heartbeat.period": ("How often (the camera offers 5m, 10m, 30m, 60m, 24h; at least 1s).", "5m"),
    "heartbeat.fields": ("The fields sent (default: all).", _NO),
    "heartbeat.firmware": ("identify.version.", "11.1.72"),
    "heartbeat.anpr_version": ("identify.anprVersion.", "2.7.1"),
    "images": ("Images: your own pictures, and the road texture's seed.", _NO),
    "images.photos": ("A folder (relative to the scenario file) of your own .jpg/.png/.bmp pictures for vehicle and "
                      "frame images.", _NO),
    "images.seed": ("Seed of the road texture behind the vehicles (default: the scenario's seed).", _NO),
    "profiles": ("The camera's event profiles, up to 3 (default: one profile, id 1, sending new, update, lost).", _NO),
    "profiles[].id": ("The profile's id, 1 to 3.", _NO),
    "profiles[].protocol": ("http | tcp.", "http"),
    "profiles[].url": ("Where events go: http(s)://HOST[:PORT]/PATH, or HOST:PORT for tcp.", _NO,
                       ["http://127.0.0.1:8080/listener.php", "127.0.0.1:9100"]),
    "profiles[].events": ("The event types sent (reliable: 2024 firmware and documented only).",
                          list(V.DEFAULT_EVENTS)),
    "profiles[].device_id": ("sensorProviderID of this profile (default: camera.device_id).", _NO),
    "profiles[].format": ("multipart | json (HTTP).", "multipart"),
    "profiles[].image": ("The image attached: vehicle | plate | frame | frame_downsized | none (default: vehicle "
                         "over HTTP, none over TCP).", _NO),
    "profiles[].image_format": ("jpeg | png | bmp (default: jpeg; png for 2019 firmware).", "jpeg"),
    "profiles[].second_image": ("true adds the plate crop (multipart part image2).", False),
    "profiles[].buffer": ("Keep failed events and retry them in order; false drops and counts them.", True),
    "profiles[].buffer_size": ("The camera's buffer; when full the oldest waiting event is dropped and counted.",
                               1000),
    "profiles[].framing": ("TCP: per-connection | newline | none (kept connections).", V.DEFAULT_FRAMING),
    "profiles[].connect_timeout": ("The camera's curl_connect_timeout (1ms to 24h).", "10s"),
    "profiles[].timeout": ("Timeout of the whole request (1ms to 24h).", "30s"),
    "profiles[].user_agent": ("User-Agent header (none sent by default, like the camera's libcurl).", _NO),
    "profiles[].json_filename": ("filename of the multipart event part.", "event_{packetCounter}.json"),
    "profiles[].image_filename": ("filename of image parts; {name} is the camera's file name.", "{name}"),
    "profiles[].boundary": ("The multipart boundary: null for libcurl's own, or a fixed one (RFC 2046).", None),
    "profiles[].json_content_type": ("Content-Type of the JSON (event part or body).", "application/json"),
    "profiles[].expect_threshold": ("Bodies larger than this many bytes send Expect: 100-continue.", 1048576),
    "profiles[].first_packet_counter": ("packetCounter of the first event (a camera that has run for years counts "
                                        "in the millions).", 1),
    "profiles[].retry_on": ("What the buffer sends again: connection, 4xx, 5xx or HTTP statuses; other answers "
                            "reject the event.", ["connection", "5xx", 408, 429]),
    "profiles[].image_quality": ("JPEG quality of the rendered images, 1 to 100.", 80),
    "faults": ("Faults on purpose, each timed by at, during, rate or share (`ffsim faults` lists them).", []),
}
for _prefix in ("profiles[].", "heartbeat."):
    SCENARIO_DOCS.update({_prefix + k: v for k, v in _AUTH.items()})
for _name in ("allow", "block", "custom"):
    SCENARIO_DOCS.update({f"lists.{_name}[].{k}": v for k, v in _LIST_ENTRY.items()})

# the keys of one fault, by name; (type, name) where a type's own key differs
FAULT_DOCS: dict[Any, Doc] = {
    "type": ("The fault: " + " ".join(V.FAULT_TYPES) + ".", _NO),
    "name": ("The label in ffsim events and the live line (default: the type).", _NO),
    "at": ("Strikes the first packet it can at or after this time.", _NO),
    "during": ("[start, end]: every packet in the interval (or the interval itself for burst, restart and the "
               "clock).", _NO, INTERVAL_EXAMPLES),
    "rate": ("Seeded moments at this rate (N/h, N/min, N/s), bounded by from and until.", _NO),
    "share": ("Each packet with this probability (drawn per packet).", _NO, [0.1]),
    "from": ("With rate or share: the first moment it may strike.", "0s"),
    "until": ("With rate or share: the last moment it may strike (default: none).", _NO),
    "profiles": ("Only the packets of these profiles (default: every profile).", _NO, [[1]]),
    "events": ("Only these event types (default: every type).", _NO, [["lost"]]),
    "seed": ("The fault's seed (default: derived from the scenario's seed and the fault's index).", _NO),
    "cameras": ("Only these cameras of the group, n from 1 (default: every camera of the group).", _NO, [[1, 7]]),
    "delay": ("The copy is handed over this long after the original.", "0s"),
    "copies": ("How many copies (1 to 5).", 1),
    "window": ("Packets of one profile reordered (2 to 32).", 3),
    "coalesce": ("TCP: the held documents in one write.", False),
    "down": ("How long the camera is dark (at least one frame; not with during).", "30s"),
    "counters": ("restart | keep: packetCounter after the restart.", "restart"),
    "first_packet_counter": ("Where packetCounter starts again (default: the profile's first_packet_counter).", _NO),
    "car_ids": ("restart | keep: carID after the restart.", "restart"),
    "first_car_id": ("Where carID starts again (default: recognition.first_car_id).", _NO),
    "by": ("The signed step of the clock.", "+1h", ["+1h", "-30s"]),
    "ppm": ("How fast (+) or slow (-) the clock runs, parts per million.", 50),
    "timezone": ("The IANA time zone the camera wrongly uses.", _NO, ["America/New_York"]),
    "cut": ("Where the body is cut: a fraction of it, between 0 and 1 (or give cut_after).", 0.5),
    ("truncated_multipart", "cut"): ("Where the body is cut: image (the middle of the first image part) or a "
                                     "fraction of the body between 0 and 1 (or give cut_after).", "image"),
    "cut_after": ("Cut the body after this many bytes (or give cut).", _NO),
    "chunk": ("Bytes written at a time.", 64),
    "every": ("Wall time between chunks.", "100ms"),
    "head": ("normal | trickle (the headers too).", "normal"),
    "pieces": ("Pieces the document is written in (2 to 1000).", 8),
    "pause": ("Wall time between pieces.", "20ms"),
    "documents": ("Documents written at once (2 to 100).", 3),
    "how": ("garbage | truncated (a JPEG cut in half).", "garbage"),
    "size": ("The image's size: 512KB, 8MB... or a number of bytes (at most 64MiB).", "8MB", ["8MB", "512KiB"]),
    ("missing_field", "field"): ("The payload field left out, dotted for a nested one (vehicle_info.color).",
                                 "plateUTF8"),
    ("wrong_type", "field"): ("The payload field given the wrong type, dotted for a nested one.", "carID"),
    ("invalid_utf8_plate", "field"): ("The plate field given bytes that are not UTF-8.", "plateUTF8"),
    "as": ("The JSON type the field gets instead.", "number"),
    "bytes": ("The bytes put into the plate, in hex (not UTF-8, no control character, \" or \\).", "ff",
              ["ff", "c328"]),
}

FLEET_DOCS: dict[str, Doc] = {
    "version": ("The fleet format version: always 1.", _NO),
    "fleet": ("true marks the file as a fleet (a groups: key does as well).", _NO),
    "name": ("The fleet's name (default: the file's name).", _NO),
    "description": ("What the fleet is for, for people.", _NO),
    "duration": ("How long the load runs, in virtual time (default: --until).", _NO),
    "seed": ("The fleet's seed: each camera's seed and the seeded offsets derive from it.", 0),
    "targets": ("Where the cameras send, spread round-robin: {http: URL or [URL, ...]} or {tcp: HOST:PORT or "
                "[...]} (default: each scenario's profiles, or --http/--tcp).", _NO),
    "targets.http": ("One URL or a list of URLs.", _NO, ["http://127.0.0.1:8080/events"]),
    "targets.tcp": ("One HOST:PORT or a list of them.", _NO, ["127.0.0.1:9100"]),
    "groups": ("Groups of cameras made from scenario files: 1 to 1,000, at most 10,000 cameras in all.", _NO),
    "groups[].scenario": ("A scenario file, relative to the fleet file.", _NO, ["parking-gate.yaml"]),
    "groups[].name": ("The group's name, {group} in patterns (default: the scenario file's stem).", _NO),
    "groups[].count": ("Cameras in the group, 1 to 10,000.", 1),
    "groups[].device_id": ("Pattern of camera.device_id and every profile's device_id, over n (1..count), i "
                           "(index in the fleet) and group.", "{group}-{n:03}", ["GATE-{n:03}"]),
    "groups[].serial": ("Pattern of camera.serial, and so its mac and cameraId.", _NO, ["ACCC8E{n:06X}"]),
    "groups[].mac": ("Pattern of camera.mac.", _NO, ["ACCC8E{n:06X}"]),
    "groups[].seed": ("A whole number, a pattern giving one (\"{n}\"), or omitted: derived from the fleet's seed "
                      "and the camera's index.", _NO, ["{n}", 7]),
    "groups[].offset": ("The camera's t=0 after it joins: a duration, or [min, max] spread over the cameras.",
                        "0s", ["5s", ["0s", "30s"]]),
    "groups[].offset_spread": ("even (min, ..., max by n) | seeded (uniform, from the fleet's seed).", "even"),
    "groups[].timezone": ("camera.timezone for every camera of the group (IANA name).", _NO, ["Europe/Prague"]),
    "groups[].firmware": ("camera.firmware for every camera of the group (the generation's defaults apply).", _NO),
    "groups[].ramp": ("The group's cameras join one by one, evenly over this period.", "0s"),
    "groups[].faults": ("Faults added to each camera's own (or to those in cameras: [n, ...]).", []),
}

# -- the derivation ------------------------------------------------------------------------------
_SAMPLE_NUMBER_TEXTS = ("0", "7", "12", "42", "1234", "2019", "1.5", "12e4", "0x1F")
_SHARED_EXAMPLES = [(S.DURATION, DURATION_EXAMPLES), (S.RATE, RATE_EXAMPLES), (S.POINT, POINT_EXAMPLES),
                    (S.INTERVAL, INTERVAL_EXAMPLES), (S.SIGNED_DURATION, ["+1h", "-30s"]),
                    (S.SIZE, ["8MB", "512KB"])]


def _doc(docs: dict, path: str, fault: str | None) -> tuple[Any, Doc | None]:
    """The registry key and the entry documenting the key at path (of a fault of this type)."""
    if fault is not None or "faults[]." in path:
        key = path.rsplit("faults[].", 1)[1]
        found = next((k for k in ((fault, key), key) if k in FAULT_DOCS), None)
        return ("faults", found), FAULT_DOCS.get(found) if found is not None else None
    return path, docs.get(path)


def _number_text(branch: dict) -> dict | None:
    """What a YAML number (taken as its text by the loader) must be to pass this text schema, or None."""
    if "enum" in branch:
        numbers = [_as_number(v) for v in branch["enum"] if isinstance(v, str)]
        numbers = [n for n in numbers if n is not None]
        return {"enum": numbers} if numbers else None
    if "pattern" in branch and not any(re.search(branch["pattern"], t) for t in _SAMPLE_NUMBER_TEXTS):
        return None
    return {"type": "number"}


def _as_number(text: str) -> int | float | None:
    if re.fullmatch(r"[-+]?[0-9]+", text):
        return int(text)
    return None


def _widen(node: dict, number: dict) -> None:
    """Let a text schema accept the YAML number the loader turns into text."""
    if "enum" in number:
        node["type"] = ["string", "integer"]
        node["enum"] = node["enum"] + number["enum"]
    else:
        node["type"] = ["string", "number"]  # pattern, minLength... apply to text only


class _Deriver:
    def __init__(self, docs: dict):
        self.docs = docs
        self.used: set = set()

    def node(self, orig: dict, path: str, texts: bool, fault: str | None = None, branch: bool = False) -> dict:
        """A copy of one subschema: texts says whether the loader's _texts_stay_texts walks here."""
        out: dict = {}
        for key, value in orig.items():
            if key == "x-message":
                out["errorMessage"] = value
            elif key == "properties":
                out[key] = {name: self.prop(sub, f"{path}.{name}" if path else name, texts, fault)
                            for name, sub in value.items()}
            elif key == "additionalProperties" and isinstance(value, dict):
                out[key] = self.node(value, path + ".*", texts, fault)
            elif key == "items" and isinstance(value, dict):
                out[key] = self.node(value, path + "[]", texts, fault)
            elif key == "anyOf":
                out[key] = [self.node(b, path, texts, fault, branch=True) for b in value]
                if "x-message" in orig:
                    for b in out[key]:
                        b.setdefault("errorMessage", orig["x-message"])
            elif key == "allOf":  # faults: the common keys and, by type, the type's own (not walked for text)
                out[key] = [{"if": copy.deepcopy(b["if"]),
                             "then": self.node(b["then"], path, False, b["if"]["properties"]["type"]["const"])}
                            for b in value]
            else:
                out[key] = copy.deepcopy(value)
        if texts and not branch and isinstance(orig, dict):
            self.numbers_as_text(orig, out)
        return out

    @staticmethod
    def numbers_as_text(orig: dict, out: dict) -> None:
        branches = orig.get("anyOf", [orig])
        if not any(b.get("type") == "string" for b in branches):
            return
        if any(b.get("type") in ("number", "integer") for b in branches):
            return
        targets = out["anyOf"] if "anyOf" in orig else [out]
        for b, target in zip(branches, targets):
            if b.get("type") == "string":
                number = _number_text(b)
                if number is not None:
                    _widen(target, number)

    def prop(self, orig: dict, path: str, texts: bool, fault: str | None) -> dict:
        out = self.node(orig, path, texts, fault)
        used, doc = _doc(self.docs, path, fault)
        if doc is None:
            return out
        self.used.add(used)
        text, default, *examples = doc
        out["description"] = text
        if default is not _NO:
            out["default"] = default
        if examples:
            out["examples"] = examples[0]
        else:
            shared = next((e for s, e in _SHARED_EXAMPLES if s is orig), None)
            if shared is not None:
                out["examples"] = shared
            elif orig.get("x-message", "").startswith("must be a polygon"):
                out["examples"] = POLYGON_EXAMPLES
        return out


def _document(orig: dict, docs: dict, schema_id: str, title: str, description: str) -> dict:
    body = _Deriver(docs).node(orig, "", True)
    return {"$schema": DRAFT, "$id": schema_id, "title": title, "description": description, **body}


# A timed path (a point with `time`): every point after the first has a time, none waits, and the
# vehicle has no speed or duration. The loader checks it point by point (loader._Builder.timed_path);
# here it is said as a rule on the whole vehicle, so that an editor flags it too.
_TIMED = "in a timed path every point after the first has a time: {at: [x, y], time: DURATION}"
TIMED_PATH_RULE = {
    "if": {"required": ["path"], "properties": {"path": {"contains": {"type": "object", "required": ["time"]}}}},
    "then": {
        "properties": {"path": {
            "prefixItems": [{"not": {"type": "object", "required": ["wait"]},
                             "errorMessage": "a timed path waits by repeating the point with a later time"}],
            "items": {"type": "object", "required": ["time"], "not": {"type": "object", "required": ["wait"]},
                      "errorMessage": _TIMED + "; it waits by repeating the point with a later time"},
        }},
        "not": {"anyOf": [{"required": ["speed"]}, {"required": ["duration"]}]},
        "errorMessage": "a timed path takes no speed or duration: each point's time says when it is there",
    },
}


def scenario_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a scenario file, for editors."""
    schema = _document(S.SCENARIO, SCENARIO_DOCS, SCENARIO_ID, "ffsim scenario (format v1)",
                       "One licence-plate camera simulated by ffsim: the camera, its zones, the vehicles and "
                       "traffic it sees, the profiles it sends events with, and faults on purpose. Only version "
                       "and zones are required. `ffsim validate FILE` makes the checks a schema cannot (polygons "
                       "inside the frame, intervals in order, ids used once).")
    schema["properties"]["vehicles"]["items"].setdefault("allOf", []).append(copy.deepcopy(TIMED_PATH_RULE))
    return schema


def fleet_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a fleet file (`ffsim load`), for editors."""
    return _document(S.FLEET, FLEET_DOCS, FLEET_ID, "ffsim fleet (format v1)",
                     "Many cameras made from scenario files, for ffsim load: groups of cameras with patterns "
                     "for their identities, offsets, a ramp and faults. `ffsim validate FILE` makes the checks "
                     "a schema cannot.")


def schema_json(fleet: bool = False) -> str:
    """The schema as the shipped file holds it: JSON, indent 2, with a final line break."""
    return json.dumps(fleet_schema() if fleet else scenario_schema(), indent=2, ensure_ascii=False) + "\n"

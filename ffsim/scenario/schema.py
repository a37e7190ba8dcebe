"""JSON Schema of scenario format v1 (the structural half of validation).

Rules that need arithmetic (polygons inside the frame, intervals in order,
unique ids...) are checked by the loader after this schema passes. A custom
``x-message`` on a subschema replaces the generic message for errors found there.
"""

from __future__ import annotations

from .. import vocabulary as V

COLORS = list(V.COLORS)
VEHICLE_TYPES = list(V.VEHICLE_TYPES)
VIEWS = list(V.VIEWS)
EVENT_TYPES = list(V.STATES)
IMAGE_KINDS = list(V.IMAGE_KINDS)
IMAGE_FORMATS = list(V.IMAGE_FORMATS)
MISREAD_KINDS = list(V.MISREAD_KINDS)

_DURATION_MSG = "must be a duration such as 500ms, 5s, 2m or 1h (not negative)"
DURATION = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?|\.\d+)\s*(ms|s|m|min|h)\s*$"},
        {"type": "number", "minimum": 0},
    ],
    "x-message": _DURATION_MSG,
}
RATE = {
    "type": "string",
    "pattern": r"^\s*(\d+(\.\d+)?|\.\d+)\s*/\s*(h|min|m|s)\s*$",
    "x-message": "must be a rate such as 300/h, 5/min or 0.5/s",
}
POINT = {
    "type": "array",
    "items": {"type": "number"},
    "minItems": 2,
    "maxItems": 2,
    "x-message": "must be a point [x, y] in frame pixels",
}
PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}
TEXT = {"type": "string"}
# text that ends up in an HTTP header or request line: a CR or LF there would inject a header, and
# libcurl (pycurl) takes only ASCII there
NO_CONTROL = {"type": "string", "pattern": "[^\\x20-\\x7e]"}  # what "not" refuses: text with a byte outside printable ASCII
HEADER_TEXT = {"type": "string", "not": NO_CONTROL}
# a file name in a multipart part's Content-Disposition: filename="...": a quote or backslash would end
# or escape the quoted name (and libcurl and urllib3 would each rewrite it their own way)
FILENAME = {"type": "string", "pattern": '^[^"\\\\]*$', "not": NO_CONTROL,
            "x-message": "must be printable ASCII text without \" or \\, line breaks or other control characters "
                         "(it goes into a multipart part's Content-Disposition header)"}
MAX_PLATE = 32
PLATE = {"type": "string", "minLength": 1, "maxLength": MAX_PLATE}
MIN_FPS = 0.01
MIN_FRAME_SIDE, MAX_FRAME_SIDE = 16, 16384  # pixels, each side of camera.resolution
SPEED = {"type": "number", "minimum": 0.01, "maximum": 1_000_000}  # pixels/second


def _obj(properties: dict, required: tuple = (), **extra) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
        **extra,
    }


CAMERA = _obj(
    {
        "device_id": TEXT,
        "serial": TEXT,
        "model": TEXT,
        "mac": TEXT,
        "ip": TEXT,
        "geotag": _obj(
            {
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
            },
            ("lat", "lon"),
        ),
        "geo_target": TEXT,
        "resolution": {
            "type": "array",
            "items": {"type": "integer", "minimum": MIN_FRAME_SIDE, "maximum": MAX_FRAME_SIDE},
            "minItems": 2,
            "maxItems": 2,
            "x-message": "must be [width, height] in pixels, e.g. [1920, 1080]",
        },
        "fps": {"type": "number", "minimum": MIN_FPS, "maximum": 120},
        "image_folders": _obj(
            {"plate": {"type": "integer", "minimum": 0}, "vehicle": {"type": "integer", "minimum": 0}}
        ),
        "timezone": {"type": "string", "minLength": 1},
        "firmware": {"type": "string", "enum": list(V.GENERATIONS)},  # `firmware: 2019` is meant as text
        "recognises": {"type": "array", "items": {"enum": list(V.RECOGNISES)}, "uniqueItems": True},
        "mac_format": {"enum": list(V.MAC_FORMATS)},
        "storage": {"enum": list(V.STORAGES)},
        "make_key": {"enum": ["brand", "make"]},
        "plate_crop_name": {"enum": ["lp", "lpup"]},
        "image_array_type": {"enum": ["empty", "named"]},
        "relative_coordinates": {"enum": list(V.RELATIVE_COORDINATES)},
        "plate_image_size": {"enum": ["zero", "actual"]},
        "frame_phase": {
            "anyOf": [{"const": "seeded"}, DURATION],
            "x-message": "must be seeded or a duration under 1ms such as 0.437ms (or 0)",
        },
        "image_save_delay": {
            "type": "array",
            "items": DURATION,
            "minItems": 2,
            "maxItems": 2,
            "x-message": "must be [min, max] durations after the capture, e.g. [20ms, 300ms]",
        },
        "lost_images": {"enum": list(V.LOST_IMAGES)},
        "camera_id": TEXT,
    }
)

RECOGNITION = _obj(
    {
        "lost_timeout": DURATION,
        "direction_min_travel": {"type": "number", "exclusiveMinimum": 0},
        "update_interval": DURATION,
        "first_car_id": {"type": "integer", "minimum": 0},
        "plate_separators": {"enum": ["strip", "keep"]},
        "plate_ascii": {"enum": ["unfolded", "folded"]},
        "reliable_confidence": PROBABILITY,
        "reliable_timeout": DURATION,
    }
)

ZONE = _obj(
    {
        "id": {"enum": [1, 2], "type": "integer"},  # 1.0 would pass an enum alone
        "polygon": {
            "type": "array",
            "items": POINT,
            "minItems": 3,
            "x-message": "must be a polygon of at least 3 points [[x, y], ...]",
        },
        "direction": {"type": "number", "minimum": 0, "maximum": 360},
        "name": TEXT,
    },
    ("id", "polygon", "direction"),
)

WAYPOINT = {
    # time: a timed path's moment at this point, after the vehicle's `at` (every point has one, or none does)
    "anyOf": [POINT, _obj({"at": POINT, "wait": DURATION, "time": DURATION}, ("at",))],
    "x-message": "must be a point [x, y], {at: [x, y], wait: DURATION} or {at: [x, y], time: DURATION}",
}

READ = _obj(
    {"text": PLATE, "confidence": PROBABILITY, "for": DURATION},
    ("text",),
)

VEHICLE = _obj(
    {
        "plate": PLATE,
        "country": {"type": "string", "pattern": "^[A-Z]{3}$", "x-message": "must be an ISO 3166-1 alpha-3 code such as CZE"},
        "region": TEXT,
        "region_code": TEXT,
        "iso3166_2": TEXT,
        "brand": TEXT,
        "model": TEXT,
        "color": {"enum": COLORS},
        "type": {"enum": VEHICLE_TYPES},
        "view": {"enum": VIEWS},
        "confidence_mmr": PROBABILITY,
        "confidence_color": PROBABILITY,
        "plate_size": {
            "type": "array",
            "items": {"type": "number", "exclusiveMinimum": 0},
            "minItems": 2,
            "maxItems": 2,
            "x-message": "must be [width, height] of the plate in pixels",
        },
        "at": DURATION,
        "path": {"type": "array", "items": WAYPOINT, "minItems": 1},
        "duration": DURATION,
        "speed": SPEED,
        "hidden": {
            "type": "array",
            "items": {
                "type": "array",
                "items": DURATION,
                "minItems": 2,
                "maxItems": 2,
                "x-message": "must be an interval [start, end] of durations after `at`",
            },
        },
        "reads": {"type": "array", "items": READ, "minItems": 1},
    },
    ("plate", "path"),
)

WEIGHTS = {
    "type": "object",
    "additionalProperties": {"type": "number", "minimum": 0},
    "x-message": "must map names to weights (numbers >= 0)",
}

TRAFFIC = _obj(
    {
        "zone": {"enum": [1, 2], "type": "integer"},
        "rate": RATE,
        "from": DURATION,
        "until": DURATION,
        "direction": _obj({"in": {"type": "number", "minimum": 0}, "out": {"type": "number", "minimum": 0}}),
        "speed": {
            "type": "array",
            "items": SPEED,
            "minItems": 2,
            "maxItems": 2,
            "x-message": "must be [min, max] in pixels/second (0.01 to 1000000)",
        },
        "countries": WEIGHTS,
        "misread": {
            "anyOf": [PROBABILITY, _obj({kind: PROBABILITY for kind in MISREAD_KINDS})],
            "x-message": "must be a share (0 to 1) of substitutions, or shares of kinds "
                         "{substitution: 0.1, growing: 0.05, regression: 0.02}",
        },
        "lateral": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 2,
            "maxItems": 2,
            "x-message": "must be [min, max] offset in pixels across the zone's arrow",
        },
    },
    ("zone", "rate"),
)

LIST_ENTRY = {
    "anyOf": [PLATE, _obj({"plate": PLATE, "description": TEXT, "date": TEXT}, ("plate",))],
    "x-message": f"must be a plate (1 to {MAX_PLATE} characters) or {{plate: TEXT, description: TEXT}}",
}
LISTS = _obj(
    {
        "allow": {"type": "array", "items": LIST_ENTRY},
        "block": {"type": "array", "items": LIST_ENTRY},
        "custom": {"type": "array", "items": LIST_ENTRY},
        "match": {"enum": ["soft", "strict"]},
    }
)

AUTH = _obj({"type": {"enum": ["basic", "digest"]}, "user": HEADER_TEXT, "password": HEADER_TEXT},
            ("type", "user", "password"))
AUTH_HEADER = _obj({"name": {"type": "string", "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", "not": NO_CONTROL},
                    "value": HEADER_TEXT}, ("value",))

PROFILE = _obj(
    {
        "id": {"enum": [1, 2, 3], "type": "integer"},
        "protocol": {"enum": list(V.PROTOCOLS)},
        "url": HEADER_TEXT,
        "events": {"type": "array", "items": {"enum": EVENT_TYPES}, "uniqueItems": True},
        "device_id": TEXT,
        "format": {"enum": list(V.HTTP_FORMATS)},
        "image": {"enum": IMAGE_KINDS},
        "image_format": {"enum": IMAGE_FORMATS},
        "second_image": {"type": "boolean"},
        "buffer": {"type": "boolean"},
        "buffer_size": {"type": "integer", "minimum": 1},
        "auth": AUTH,
        "auth_header": AUTH_HEADER,
        "ca_file": TEXT,
        "insecure": {"type": "boolean"},
        "framing": {"enum": list(V.FRAMINGS)},
        "connect_timeout": DURATION,
        "timeout": DURATION,
        "user_agent": HEADER_TEXT,
        "json_filename": FILENAME,
        "image_filename": FILENAME,
        "boundary": {"type": ["string", "null"], "pattern": "^[0-9A-Za-z'()+_,./:=?-]{1,70}$", "not": NO_CONTROL,
                     "x-message": "must be 1 to 70 letters, digits or '()+_,-./:=? (RFC 2046)"},
        "json_content_type": HEADER_TEXT,
        "expect_threshold": {"type": "integer", "minimum": 0},
        "first_packet_counter": {"type": "integer", "minimum": 1},
        "retry_on": {
            "type": "array",
            "items": {"anyOf": [{"enum": list(V.RETRY_ON)},
                                {"type": "integer", "minimum": 300, "maximum": 599}],
                      "x-message": "must be connection, 4xx, 5xx or an HTTP status from 300 to 599"},
            "uniqueItems": True,
        },
        "image_quality": {"type": "integer", "minimum": 1, "maximum": 100},
    },
    ("id",),
)

HEARTBEAT_FIELDS = [
    "system.timestamp", "identify.platform", "identify.version", "identify.ipAddress", "identify.macAddress",
    "identify.osVersion", "identify.anprVersion", "ALPV.device_ID", "ALPV.version", "ALPV.numFrames",
    "ALPV.numFramesAvg", "ALPV.numberOfReads",
]
HEARTBEAT = _obj(
    {
        "url": HEADER_TEXT,
        "period": DURATION,
        "fields": {"type": "array", "items": {"enum": HEARTBEAT_FIELDS}, "uniqueItems": True},
        "firmware": TEXT,
        "anpr_version": TEXT,
        "auth": AUTH,
        "auth_header": AUTH_HEADER,
        "ca_file": TEXT,
        "insecure": {"type": "boolean"},
    }
)

# -- faults on purpose (ffsim.faults) -----------------------------------------------------------
INTERVAL = {
    "type": "array",
    "items": DURATION,
    "minItems": 2,
    "maxItems": 2,
    "x-message": "must be an interval [start, end] of durations, e.g. [1m, 2m]",
}
SIGNED_DURATION = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*[+-]?\s*(\d+(\.\d+)?|\.\d+)\s*(ms|s|m|min|h)\s*$"},
        {"type": "number"},
    ],
    "x-message": "must be a signed duration such as +1h or -30s",
}
SIZE = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(B|KB|MB|KiB|MiB)\s*$"},
        {"type": "integer", "minimum": 0},
    ],
    "x-message": "must be a size such as 512KB or 8MB (or a number of bytes)",
}
FRACTION = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}
MAX_FAULTS = 100
_FAULT_COMMON: dict = {
    "type": {"enum": list(V.FAULT_TYPES)},
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "at": DURATION,
    "during": INTERVAL,
    "rate": RATE,
    "share": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "from": DURATION,
    "until": DURATION,
    "profiles": {"type": "array", "items": {"enum": [1, 2, 3], "type": "integer"}, "minItems": 1,
                 "uniqueItems": True},
    "events": {"type": "array", "items": {"enum": EVENT_TYPES}, "minItems": 1, "uniqueItems": True},
    "seed": {"type": "integer"},
}
_CUT = {"cut": FRACTION, "cut_after": {"type": "integer", "minimum": 0}}
FAULT_KEYS: dict[str, dict] = {  # each fault type's own keys, besides the common ones
    "duplicate": {"delay": DURATION, "copies": {"type": "integer", "minimum": 1, "maximum": 5}},
    "reorder": {"window": {"type": "integer", "minimum": 2, "maximum": 32}},
    "burst": {"coalesce": {"type": "boolean"}},
    "restart": {
        "down": DURATION,
        "counters": {"enum": ["restart", "keep"]},
        "first_packet_counter": {"type": "integer", "minimum": 1},
        "car_ids": {"enum": ["restart", "keep"]},
        "first_car_id": {"type": "integer", "minimum": 0},
    },
    "clock_jump": {"by": SIGNED_DURATION},
    "clock_drift": {"ppm": {"type": "number", "minimum": -100_000, "maximum": 100_000}},
    "wrong_timezone": {"timezone": {"type": "string", "minLength": 1}},
    "reset_mid_body": dict(_CUT),
    "truncated_multipart": {
        "cut": {"anyOf": [{"const": "image"}, FRACTION],
                "x-message": "must be image (the middle of the first image part) or a fraction of the body "
                             "between 0 and 1"},
        "cut_after": {"type": "integer", "minimum": 0},
    },
    "trickle": {"chunk": {"type": "integer", "minimum": 1, "maximum": 1 << 20}, "every": DURATION,
                "head": {"enum": ["normal", "trickle"]}},
    "tcp_split": {"pieces": {"type": "integer", "minimum": 2, "maximum": 1000}, "pause": DURATION},
    "tcp_coalesce": {"documents": {"type": "integer", "minimum": 2, "maximum": 100}},
    "missing_image": {},
    "empty_image": {},
    "undecodable_image": {"how": {"enum": ["garbage", "truncated"]}},
    "oversized_image": {"size": SIZE},
    "missing_field": {"field": {"type": "string", "minLength": 1}},
    "wrong_type": {"field": {"type": "string", "minLength": 1}, "as": {"enum": list(V.JSON_TYPES)}},
    "invalid_utf8_plate": {"field": {"enum": ["plateUTF8", "plateASCII", "plateText"]},
                           "bytes": {"type": "string", "pattern": "^([0-9A-Fa-f]{2}){1,16}$",
                                     "x-message": "must be 1 to 16 bytes in hex, e.g. ff or c328"}},
}


def _fault(kind: str, extra: dict | None = None) -> dict:
    own = {**_FAULT_COMMON, **FAULT_KEYS[kind], **(extra or {})}
    return {"if": {"properties": {"type": {"const": kind}}, "required": ["type"]}, "then": _obj(own)}


def fault_schema(extra: dict | None = None) -> dict:
    """One fault: the common keys and, chosen by `type`, that type's own."""
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": _FAULT_COMMON["type"]},
        "allOf": [_fault(kind, extra) for kind in V.FAULT_TYPES],
    }


FAULT = fault_schema()
FAULTS = {"type": "array", "items": FAULT, "maxItems": MAX_FAULTS}

SCENARIO = _obj(
    {
        "version": {"const": 1, "x-message": "must be 1 (the only scenario format version)"},
        "name": TEXT,
        "description": TEXT,
        "seed": {"type": "integer"},
        "start": {"type": ["string", "null"]},
        "camera": CAMERA,
        "recognition": RECOGNITION,
        "zones": {
            "type": "array",
            "items": ZONE,
            "minItems": 1,
            "maxItems": 2,
            "x-message": "must list 1 or 2 zones (the camera supports at most 2)",
        },
        "vehicles": {"type": "array", "items": VEHICLE},
        "traffic": {"type": "array", "items": TRAFFIC},
        "lists": LISTS,
        "heartbeat": HEARTBEAT,
        "images": _obj({"photos": TEXT, "seed": {"type": "integer"}}),
        "profiles": {
            "type": "array",
            "items": PROFILE,
            "minItems": 1,
            "maxItems": 3,
            "x-message": "must list 1 to 3 profiles (the camera has at most 3)",
        },
        "faults": FAULTS,
    },
    ("version", "zones"),
)

# -- fleet files (ffsim.scenario.fleet): many cameras from scenarios ---------------------------
MAX_FLEET_CAMERAS = 10_000  # in a whole fleet; more is a load no single machine should plan from one file
MAX_FLEET_GROUPS = 1_000
MAX_FLEET_TARGETS = 1_000
MAX_PATTERN = 200  # characters of a device id / serial / seed pattern
_PATTERN = {"type": "string", "minLength": 1, "maxLength": MAX_PATTERN}
_TARGET_LIST = {
    "anyOf": [HEADER_TEXT, {"type": "array", "items": HEADER_TEXT, "minItems": 1, "maxItems": MAX_FLEET_TARGETS}],
    "x-message": f"must be one target or a list of 1 to {MAX_FLEET_TARGETS}",
}
FLEET_GROUP = _obj(
    {
        "scenario": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 1, "maxLength": MAX_PATTERN},
        "count": {"type": "integer", "minimum": 1, "maximum": MAX_FLEET_CAMERAS},
        "device_id": _PATTERN,
        "serial": _PATTERN,
        "mac": _PATTERN,
        "seed": {"anyOf": [{"type": "integer"}, _PATTERN],
                 "x-message": "must be a whole number or a pattern such as \"{n}\" giving one"},
        "offset": {
            "anyOf": [DURATION, {"type": "array", "items": DURATION, "minItems": 2, "maxItems": 2}],
            "x-message": "must be a duration such as 5s, or a range [min, max] such as [0s, 30s]",
        },
        "offset_spread": {"enum": ["even", "seeded"]},
        "timezone": {"type": "string", "minLength": 1},
        "firmware": {"type": "string", "enum": list(V.GENERATIONS)},
        "ramp": DURATION,
        # added to each camera's own faults; `cameras` (n within the group) picks some of them
        "faults": {"type": "array", "maxItems": MAX_FAULTS, "items": fault_schema({"cameras": {
            "type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "uniqueItems": True}})},
    },
    ("scenario",),
)
FLEET = _obj(
    {
        "version": {"const": 1, "x-message": "must be 1 (the only fleet format version)"},
        "fleet": {"const": True, "x-message": "must be true (it marks the file as a fleet)"},
        "name": TEXT,
        "description": TEXT,
        "duration": DURATION,
        "seed": {"type": "integer"},
        "targets": {**_obj({"http": _TARGET_LIST, "tcp": _TARGET_LIST}, minProperties=1, maxProperties=1),
                    "x-message": "must be {http: URL or [URL, ...]} or {tcp: HOST:PORT or [HOST:PORT, ...]}"},
        "groups": {
            "type": "array",
            "items": FLEET_GROUP,
            "minItems": 1,
            "maxItems": MAX_FLEET_GROUPS,
            "x-message": f"must list 1 to {MAX_FLEET_GROUPS} groups of cameras",
        },
    },
    ("version", "groups"),
)

"""The words of FF-Events and of ffsim, defined once and imported everywhere.

Event states, directions, vehicle attributes, image kinds and formats, TCP
framings and firmware generations: the scenario schema, the engine, the
payload, the validator and the terminal views all take them from here.
"""

from __future__ import annotations

# -- events (FF-EVENTS.md section 1) ---------------------------------------------------------
NEW, UPDATE, RELIABLE, LOST = "new", "update", "reliable", "lost"
STATES = (NEW, UPDATE, RELIABLE, LOST)
# same-time events of one passage go out in this order
STATE_RANK = {NEW: 0, UPDATE: 1, RELIABLE: 2, LOST: 3}
DEFAULT_EVENTS = (NEW, UPDATE, LOST)  # what a profile sends unless told otherwise

DIRECTIONS = ("unknown", "in", "out")
ROI_IDS = ("1", "2")

# -- vehicles (section 4) -----------------------------------------------------------------
COLORS = ("BEIGE", "BLACK", "BLUE", "BROWN", "GRAY", "GREEN", "ORANGE", "RED", "WHITE", "YELLOW", "SILVER")
VEHICLE_TYPES = ("CAR", "BUS", "TRUCK", "SUV", "VAN", "PICKUP")
VIEWS = ("front", "rear")
# what a camera can recognise besides the plate: each adds keys to vehicle_info
RECOGNISES = ("view", "type", "color", "make")

# -- images ----------------------------------------------------------------------------------
IMAGE_KINDS = ("vehicle", "plate", "frame", "frame_downsized", "none")
IMAGE_FORMATS = ("jpeg", "png", "bmp")
IMAGE_TYPES = ("plate", "mmrcrop", "vehicle", "frame")  # imageType values
PLATE_IMAGE_TYPES = ("jpeg", "jpg", "png", "bmp")  # plateImageType values (LPV 2021 writes jpg)

# -- transport ---------------------------------------------------------------------------------
PROTOCOLS = ("http", "tcp")
HTTP_FORMATS = ("multipart", "json")
FRAMINGS = ("per-connection", "newline", "none")
DEFAULT_FRAMING = "per-connection"  # the field evidence: one connection per event
# what a profile's buffer sends again: connection failures and these answers (others reject the event)
RETRY_ON = ("connection", "4xx", "5xx")  # and any HTTP status as digits
DEFAULT_RETRY_ON = ("connection", "5xx", "408", "429")

# -- camera settings that vary within a generation --------------------------------------------
MAC_FORMATS = ("plain", "colons", "empty", "as-given")
STORAGES = ("internal", "sd_card")
RELATIVE_COORDINATES = ("frame", "crop")
LOST_IMAGES = ("result", "capture")
MISREAD_KINDS = ("substitution", "growing", "regression")

# -- firmware generations (section 10) ------------------------------------------------------
GENERATIONS = ("2019", "2021-lpv", "2021-cammra", "2024-lpv", "2024-cammra", "documented")
DEFAULT_GENERATION = "2024-lpv"

# -- faults on purpose (issue 11; ffsim.faults) ------------------------------------------------
# type -> family, in catalogue order
FAULT_FAMILIES = {
    "duplicate": "duplicate",
    "reorder": "reorder",
    "burst": "burst",
    "restart": "restart",
    "clock_jump": "clock",
    "clock_drift": "clock",
    "wrong_timezone": "clock",
    "reset_mid_body": "wire",
    "truncated_multipart": "wire",
    "trickle": "wire",
    "tcp_split": "wire",
    "tcp_coalesce": "wire",
    "missing_image": "payload",
    "empty_image": "payload",
    "undecodable_image": "payload",
    "oversized_image": "payload",
    "missing_field": "payload",
    "wrong_type": "payload",
    "invalid_utf8_plate": "payload",
}
FAULT_TYPES = tuple(FAULT_FAMILIES)
FAULT_FAMILY_NAMES = ("duplicate", "reorder", "burst", "restart", "clock", "wire", "payload")
# faults of the whole camera: not per profile, and they touch heartbeats too
CAMERA_FAULTS = ("restart", "clock_jump", "clock_drift", "wrong_timezone")
HTTP_WIRE_FAULTS = ("reset_mid_body", "truncated_multipart", "trickle")
TCP_WIRE_FAULTS = ("tcp_split", "tcp_coalesce")
IMAGE_FAULTS = ("missing_image", "empty_image", "undecodable_image", "oversized_image")
JSON_TYPES = ("null", "number", "string", "object", "array", "bool")  # wrong_type's `as`

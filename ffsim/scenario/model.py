"""The validated scenario: plain immutable values, times in integer microseconds."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from fractions import Fraction

from ..vocabulary import DEFAULT_EVENTS, DEFAULT_FRAMING, DEFAULT_GENERATION, DEFAULT_RETRY_ON

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Camera:
    device_id: str = "CAMERA-1"
    serial: str = "ACCC8E000001"
    model: str = "AXIS P1465-LE"
    mac: str = "ACCC8E000001"
    ip: str = "192.168.0.90"
    lat: float = 0.0
    lon: float = 0.0
    geo_target: str = "Camera"
    width: int = 1920
    height: int = 1080
    fps: Fraction = Fraction(10)
    plate_folder: int = 12
    vehicle_folder: int = 13
    timezone: str = "UTC"  # IANA name: datetime and image names are local time of this zone
    firmware: str = DEFAULT_GENERATION  # the payload shape (ffsim.generations)
    # the settings below vary within a generation; the loader fills in the generation's defaults
    recognises: tuple[str, ...] = ("view", "type", "color")  # keys of vehicle_info
    mac_format: str = "plain"  # plain | colons | empty | as-given
    storage: str = "internal"  # internal | sd_card: the image paths
    make_key: str = "brand"  # brand | make: vehicle_info's name of the make
    plate_crop_name: str = "lp"  # lp | lpup: the kind in plate image names
    image_array_type: str = "empty"  # empty | named: ImageArray[].ImageType
    relative_coordinates: str = "frame"  # frame | crop | none
    plate_image_size: str = "zero"  # zero | actual
    frame_phase_us: int = 0  # the frame clock's offset from t=0 (sub-millisecond digits)
    image_save_delay_us: tuple[int, int] = (0, 0)  # image saved this long after the capture (seeded)
    lost_images: str = "result"  # result | capture: which images a Lost names
    camera_id: str = ""  # cameraId of 2019 payloads; "" means the serial


@dataclass(frozen=True, slots=True)
class Recognition:
    lost_timeout_us: int = 5_000_000
    direction_min_travel: float = 40.0
    update_interval_us: int = 0
    first_car_id: int = 1
    keep_separators: bool = False
    fold_ascii: bool = False
    reliable_confidence: float = 0.9  # a Reliable when the reported text's confidence reaches this
    reliable_timeout_us: int = 1_000_000  # or this long after the New, whichever first


@dataclass(frozen=True, slots=True)
class Zone:
    id: int
    polygon: tuple[Point, ...]
    direction: float

    @property
    def arrow(self) -> Point:
        """Unit vector of the installer's arrow in image coordinates (y grows downwards)."""
        rad = math.radians(self.direction)
        # rounded so that 90, 180, 270 give exact axes (sin(pi) is 1.2e-16, not 0)
        return (round(math.sin(rad), 12) + 0.0, round(-math.cos(rad), 12) + 0.0)


@dataclass(frozen=True, slots=True)
class Waypoint:
    x: float
    y: float
    wait_us: int = 0
    time_us: int | None = None  # a timed path's: when the vehicle is here, after its `at`


@dataclass(frozen=True, slots=True)
class Read:
    text: str
    confidence: float
    for_us: int | None  # None: lasts to the end


@dataclass(frozen=True, slots=True)
class VehicleSpec:
    plate: str
    country: str
    at_us: int
    path: tuple[Waypoint, ...]
    speed: float | None = None  # pixels/second
    duration_us: int | None = None  # moving time of the whole path
    hidden: tuple[tuple[int, int], ...] = ()  # [start, end) after `at`
    reads: tuple[Read, ...] = ()
    region: str | None = None
    region_code: str | None = None
    iso3166_2: str = ""
    brand: str = ""
    model: str = ""
    color: str = ""
    type: str = "CAR"
    view: str | None = None  # None: from the direction of travel in the image
    confidence_mmr: float | None = None
    confidence_color: float | None = None
    plate_size: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Flow:
    zone: int
    rate_per_s: float
    from_us: int = 0
    until_us: int | None = None
    p_in: float = 0.5
    speed_min: float = 150.0
    speed_max: float = 400.0
    countries: tuple[tuple[str, float], ...] = (("CZE", 1.0),)
    misread: tuple[tuple[str, float], ...] = ()  # (kind, share): substitution | growing | regression
    lateral: tuple[float, float] = (-20.0, 20.0)


@dataclass(frozen=True, slots=True)
class ListEntry:
    plate: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Lists:
    allow: tuple[ListEntry, ...] = ()
    block: tuple[ListEntry, ...] = ()
    custom: tuple[ListEntry, ...] = ()
    strict: bool = False


@dataclass(frozen=True, slots=True)
class Auth:
    """HTTP credentials: basic or digest user and password, or a custom header."""

    type: str  # basic | digest | header
    user: str = ""
    secret: str = ""  # the password, or the header's value
    name: str = ""  # the header's name, for type header

    def __repr__(self) -> str:  # secrets are never printed
        return f"Auth(type={self.type!r}, user={self.user!r}, name={self.name!r}, secret=***)"


@dataclass(frozen=True, slots=True)
class Profile:
    id: int = 1
    protocol: str = "http"
    url: str | None = None
    events: frozenset[str] = frozenset(DEFAULT_EVENTS)
    device_id: str | None = None  # None: the camera's device_id
    format: str = "multipart"  # multipart | json (HTTP)
    image: str | None = None  # vehicle | plate | frame | frame_downsized | none; None: the protocol's default
    image_format: str = "jpeg"
    second_image: bool = False  # adds the plate crop
    buffer: bool = True
    buffer_size: int = 1000
    auth: Auth | None = None  # basic or digest
    # the custom auth header (the camera's x_auth_key setting); its name defaults to
    # X-Auth-Key because nginx and Werkzeug drop header names with underscores
    auth_header: Auth | None = None
    ca_file: str | None = None
    insecure: bool = False
    framing: str = DEFAULT_FRAMING  # TCP: per-connection | newline | none
    connect_timeout_us: int = 10_000_000
    timeout_us: int = 30_000_000
    user_agent: str | None = None
    json_filename: str = "event_{packetCounter}.json"
    image_filename: str = "{name}"  # {name}: the camera's file name of the image; {packetCounter}
    boundary: str | None = None  # None: libcurl's own (24 dashes and 22 random characters)
    json_content_type: str = "application/json"
    expect_threshold: int = 1024 * 1024
    first_packet_counter: int = 1  # a camera that has run for years counts in the millions
    # what the buffer sends again: connection failures and these answers; other
    # answers (outside 2xx) reject the event, which is counted and skipped
    retry_on: tuple[str, ...] = DEFAULT_RETRY_ON
    image_quality: int = 80  # JPEG quality of rendered images

    @property
    def image_kind(self) -> str:
        """The image attached: as configured, else vehicle over HTTP and none over TCP."""
        if self.image is not None:
            return self.image
        return "none" if self.protocol == "tcp" else "vehicle"

    @property
    def inline_images(self) -> bool:
        """Images travel inside the JSON (ImageArray) rather than as multipart parts."""
        return self.protocol == "tcp" or self.format == "json"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The camera's periodic keepalive: a JSON POST (FF-EVENTS.md section 7)."""

    url: str | None = None  # None: the --http URL of the run
    period_us: int = 5 * 60 * 1_000_000
    fields: tuple[str, ...] = ()  # () means all
    firmware: str = "11.1.72"
    anpr_version: str = "2.7.1"
    auth: Auth | None = None
    auth_header: Auth | None = None
    ca_file: str | None = None
    insecure: bool = False


# -- faults on purpose (ffsim.faults): one dataclass per kind, times in microseconds -----------
@dataclass(frozen=True, slots=True)
class Timing:
    """When a fault strikes: exactly one of at, during, rate or share (none: the whole run)."""

    at_us: int | None = None  # the first eligible packet at or after it
    during_us: tuple[int, int] | None = None  # [start, end): every eligible packet (or the interval itself)
    rate_per_s: float | None = None  # seeded moments between from and until
    share: float | None = None  # each eligible packet with this probability
    from_us: int = 0
    until_us: int | None = None


@dataclass(frozen=True, slots=True)
class Duplicate:
    delay_us: int = 0  # the copy is handed over this long after the original
    copies: int = 1


@dataclass(frozen=True, slots=True)
class Reorder:
    window: int = 3  # packets of one profile


@dataclass(frozen=True, slots=True)
class Burst:
    coalesce: bool = False  # TCP: the held documents in one write


@dataclass(frozen=True, slots=True)
class Restart:
    down_us: int = 30_000_000
    counters: str = "restart"  # restart | keep
    first_packet_counter: int | None = None  # None: the profile's
    car_ids: str = "restart"  # restart | keep
    first_car_id: int | None = None  # None: recognition.first_car_id


@dataclass(frozen=True, slots=True)
class ClockFault:
    kind: str  # clock_jump | clock_drift | wrong_timezone
    by_us: int = 0  # clock_jump: signed
    ppm: float = 0.0  # clock_drift
    timezone: str = ""  # wrong_timezone


@dataclass(frozen=True, slots=True)
class WireFault:
    kind: str  # reset_mid_body | truncated_multipart | trickle | tcp_split | tcp_coalesce
    cut: float | None = None  # fraction of the body; None with cut_after None: the kind's default
    cut_after: int | None = None  # bytes of the body
    cut_image: bool = False  # truncated_multipart: in the middle of the first image part
    chunk: int = 64  # trickle
    every_us: int = 100_000  # trickle: wall time between chunks
    head: str = "normal"  # trickle: normal | trickle (the headers too)
    pieces: int = 8  # tcp_split
    pause_us: int = 20_000  # tcp_split
    documents: int = 3  # tcp_coalesce


@dataclass(frozen=True, slots=True)
class PayloadFault:
    kind: str  # missing_image | empty_image | undecodable_image | oversized_image | missing_field | ...
    field: str = ""  # missing_field, wrong_type, invalid_utf8_plate
    as_type: str = ""  # wrong_type: null | number | string | object | array | bool
    size: int = 0  # oversized_image: bytes
    how: str = "garbage"  # undecodable_image: garbage | truncated
    data: bytes = b"\xff"  # invalid_utf8_plate: the bytes put into the plate


FaultSpec = Duplicate | Reorder | Burst | Restart | ClockFault | WireFault | PayloadFault


@dataclass(frozen=True, slots=True)
class Fault:
    index: int  # position in faults: (a fleet group's come after the scenario's)
    type: str  # catalogue name; its family: vocabulary.FAULT_FAMILIES[type]
    name: str  # the label in ffsim events and the live line
    timing: Timing
    spec: FaultSpec
    profiles: frozenset[int] | None = None  # None: every profile
    events: frozenset[str] | None = None  # None: every carState
    seed: int = 0  # given, or derived from the scenario's seed and the index


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    seed: int
    start_us: int | None  # epoch microseconds of virtual t=0; None: the moment the run starts
    camera: Camera
    recognition: Recognition
    zones: tuple[Zone, ...]
    vehicles: tuple[VehicleSpec, ...] = ()
    traffic: tuple[Flow, ...] = ()
    lists: Lists = field(default_factory=Lists)
    profiles: tuple[Profile, ...] = (Profile(),)
    heartbeat: Heartbeat | None = None
    photos: tuple[str, ...] = ()  # the user's own pictures for vehicle and frame images
    # the seed of the road drawn behind the vehicles (images.seed); None: the scenario's seed.
    # A fleet's cameras of one group share their scenario file's road (one texture to draw)
    image_seed: int | None = None
    faults: tuple[Fault, ...] = ()  # faults on purpose (ffsim.faults), in file order
    source: str = "<scenario>"

    @property
    def road_seed(self) -> int:
        """The seed of the images' road texture."""
        return self.seed if self.image_seed is None else self.image_seed

    def profile(self, profile_id: int) -> Profile | None:
        return next((p for p in self.profiles if p.id == profile_id), None)

    def retargeted(self, http: str | None, tcp: str | None) -> Scenario:
        """The scenario with every profile sending to --http URL or --tcp HOST:PORT.

        A heartbeat without a url of its own goes to the --http URL."""
        if http is None and tcp is None:
            return self
        protocol, url = ("http", http) if http is not None else ("tcp", tcp)
        profiles = tuple(dataclasses.replace(p, protocol=protocol, url=url) for p in self.profiles)
        heartbeat = self.heartbeat
        if heartbeat is not None and heartbeat.url is None and http is not None:
            heartbeat = dataclasses.replace(heartbeat, url=http)
        return dataclasses.replace(self, profiles=profiles, heartbeat=heartbeat)

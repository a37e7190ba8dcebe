"""The runner: maps virtual time to the wall clock and hands packets to the deliveries.

Payload timestamps always follow the virtual clock; only when a packet is handed
over depends on the speed (1 = real time, N = N times faster, None = as fast as
the receivers take them).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from datetime import datetime
from collections.abc import Callable
from dataclasses import dataclass

from .protocol import Camera, HeartbeatPacket, Packet
from .scenario.model import Heartbeat, Profile, Scenario
from .units import camera_zone
from .transport import Message, Outcome, TargetError
from .transport.delivery import Delivery, Item
from .transport.http import HttpTransport, check_http_target
from .transport.tcp import TcpTransport, check_tcp_target


def embedded_needed(scenario: Scenario) -> bool:
    """No target anywhere: the run sends to ffsim's own receiver."""
    return all(p.url is None for p in scenario.profiles) and (
        scenario.heartbeat is None or scenario.heartbeat.url is None)


def fill_targets(scenario: Scenario, http_url: str, tcp_address: str | None) -> Scenario:
    """Profiles (and heartbeat) without a target send to these."""
    profiles = tuple(
        p if p.url is not None else dataclasses.replace(p, url=http_url if p.protocol == "http" else tcp_address)
        for p in scenario.profiles)
    heartbeat = scenario.heartbeat
    if heartbeat is not None and heartbeat.url is None:
        heartbeat = dataclasses.replace(heartbeat, url=http_url)
    return dataclasses.replace(scenario, profiles=profiles, heartbeat=heartbeat)


HEARTBEAT_ID = 0  # the heartbeat's delivery, beside profiles 1-3


def heartbeat_profile(hb: Heartbeat) -> Profile:
    """The heartbeat is sent like a JSON-format profile without images."""
    if hb.url is None:
        raise TargetError("the heartbeat has no url: give heartbeat.url in the scenario, or --http URL")
    return Profile(id=HEARTBEAT_ID, protocol="http", url=hb.url, format="json", image="none", auth=hb.auth,
                   auth_header=hb.auth_header, ca_file=hb.ca_file, insecure=hb.insecure)


def make_transport(profile: Profile):
    if profile.url is None:
        raise TargetError(f"profile {profile.id} has no target: give --http URL or --tcp HOST:PORT, "
                          "or a url in the profile")
    if profile.protocol == "http":
        check_http_target(profile.url)
        return HttpTransport(profile, profile.url)
    check_tcp_target(profile.url)
    return TcpTransport(profile, profile.url)


def message_of(packet: Packet, profile: Profile) -> Message:
    counter = str(packet.payload["packetCounter"])
    name = profile.json_filename.replace("{packetCounter}", counter)
    return Message(packet.payload.camera_json(), packet.payload.attachments, name, counter)


def label_of(packet: Packet) -> dict:
    ev = packet.event
    return {"time": packet.epoch_ms, "profile": packet.profile, "state": ev.state, "carID": ev.passage.car_id,
            "plate": ev.text, "direction": ev.direction}


class LivePrinter:
    """One line per attempt: sent, retrying, rejected (with the status) or dropped; from any delivery thread."""

    def __init__(self, stream=None, enabled: bool = True, timezone: str = "UTC"):
        """timezone: the camera's, so that the times read as the payloads' datetime does."""
        self.stream = stream or sys.stdout
        self.enabled = enabled
        self.zone = camera_zone(timezone)
        self.lock = threading.Lock()

    def __call__(self, profile_id: int, item: Item, outcome: Outcome) -> None:
        if not self.enabled:
            return
        label = item.label
        moment = datetime.fromtimestamp(label["time"] / 1000, self.zone)
        clock = moment.strftime("%H:%M:%S") + ".%03d" % (label["time"] % 1000)
        line = (f"{clock}  p{profile_id}  {label['state']:<8}  car {label['carID']:<6}  {label['plate']:<10}  "
                f"{label['direction']:<7}  {outcome.detail}")
        with self.lock:
            print(line, file=self.stream, flush=True)


@dataclass
class Summary:
    profiles: dict  # "1".."3" or "heartbeat" -> counters and buffered
    fatal: str | None = None
    interrupted: bool = False

    COLUMNS = ("sent", "failed", "retried", "rejected", "dropped", "unconfirmed", "buffered")

    @property
    def delivered_all(self) -> bool:
        """Every event sent and read: nothing rejected, dropped, unconfirmed or left buffered."""
        return self.fatal is None and not self.interrupted and all(
            p["rejected"] == 0 and p["dropped"] == 0 and p["unconfirmed"] == 0 and p["buffered"] == 0
            for p in self.profiles.values())

    def as_json(self) -> str:
        return json.dumps({"profiles": self.profiles, "fatal": self.fatal, "interrupted": self.interrupted,
                           "delivered_all": self.delivered_all})

    @classmethod
    def of(cls, deliveries: dict, fatal: str | None, interrupted: bool) -> Summary:
        """The summary of named deliveries."""
        return cls({name: {"sent": d.counters.sent, "failed": d.counters.failed, "retried": d.counters.retried,
                           "rejected": d.counters.rejected, "dropped": d.counters.dropped,
                           "unconfirmed": d.counters.unconfirmed, "buffered": len(d.pending())}
                    for name, d in deliveries.items()}, fatal, interrupted)

    def table(self) -> str:
        lines = ["  profile  " + "  ".join(self.COLUMNS)]
        for name, c in sorted(self.profiles.items(), key=lambda kv: (kv[0] == "heartbeat", kv[0])):
            lines.append(f"{name:>9}  " + "  ".join(f"{c[k]:>{len(k)}}" for k in self.COLUMNS))
        if self.fatal:
            lines.append(f"stopped: {self.fatal}")
        return "\n".join(lines)


class Runner:
    def __init__(self, scenario: Scenario, start_us: int, speed: float | None,
                 report: Callable[[int, Item, Outcome], None] | None = None,
                 backoff: tuple[float, float] = (0.1, 5.0)):
        self.scenario = scenario
        self.camera = Camera(scenario, start_us)
        self.speed = speed
        self.deliveries: dict[int, Delivery] = {}
        self.profiles = {p.id: p for p in scenario.profiles}
        if scenario.heartbeat is not None:
            self.profiles[HEARTBEAT_ID] = heartbeat_profile(scenario.heartbeat)
        transports = {pid: make_transport(p) for pid, p in self.profiles.items()}  # raises TargetError first
        for pid, p in self.profiles.items():
            self.deliveries[pid] = Delivery(pid, transports[pid], p.buffer, p.buffer_size, report, backoff,
                                            p.retry_on)
        self.stop_event = threading.Event()

    def _fatal(self) -> str | None:
        for d in self.deliveries.values():
            if d.fatal is not None:
                return f"profile {d.profile_id}: {d.fatal.detail}"
        return None

    def run(self, until_us: int | None = None, drain_s: float = 60.0) -> Summary:
        interrupted = False
        try:
            wall0 = time.monotonic()
            for packet in self.camera.packets_and_heartbeats(until_us):
                if self._fatal():
                    break
                if self.speed is not None:
                    delay = wall0 + packet.time_us / 1e6 / self.speed - time.monotonic()
                    if delay > 0 and self.stop_event.wait(delay):
                        break
                if isinstance(packet, HeartbeatPacket):
                    item = Item(Message(packet.json_bytes(), (), ""), {
                        "time": packet.epoch_ms, "profile": HEARTBEAT_ID, "state": "heartbeat", "carID": "-",
                        "plate": "-", "direction": "-"})
                    self.deliveries[HEARTBEAT_ID].offer(item, wait=self.speed is None)
                    continue
                profile = self.profiles[packet.profile]
                item = Item(message_of(packet, profile), label_of(packet))
                self.deliveries[packet.profile].offer(item, wait=self.speed is None)
            deadline = time.monotonic() + drain_s
            for d in self.deliveries.values():
                d.drain(max(0.0, deadline - time.monotonic()))
        except KeyboardInterrupt:
            interrupted = True
        finally:
            for d in self.deliveries.values():
                d.stop()
        named = {("heartbeat" if pid == HEARTBEAT_ID else str(pid)): d for pid, d in self.deliveries.items()}
        return Summary.of(named, self._fatal(), interrupted)

    def unsent(self) -> list[dict]:
        return [item.label for d in self.deliveries.values() for item in d.pending()]

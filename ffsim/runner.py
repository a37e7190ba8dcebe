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
from .terminal import printable
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
            print(printable(line), file=self.stream, flush=True)  # plates come from payloads: no escapes


@dataclass
class Summary:
    profiles: dict  # "1".."3" or "heartbeat" -> counters and buffered
    fatal: str | None = None
    interrupted: bool = False
    # events of the scenario never handed to a delivery, by profile name: the run stopped
    # before them (fatal, Ctrl-C). Empty when all were handed over; None when unknown (an
    # endless scenario stopped: the rest of it was not sent). With the counters, every
    # event is one of: sent, rejected, dropped, buffered, not_sent.
    not_sent: dict | None = dataclasses.field(default_factory=dict)

    COLUMNS = ("sent", "failed", "retried", "rejected", "dropped", "unconfirmed", "buffered")

    @property
    def not_sent_total(self) -> int | None:
        return None if self.not_sent is None else sum(self.not_sent.values())

    @property
    def delivered_all(self) -> bool:
        """Every event sent and read: nothing rejected, dropped, unconfirmed, left buffered or never sent."""
        return self.fatal is None and not self.interrupted and self.not_sent_total == 0 and all(
            p["rejected"] == 0 and p["dropped"] == 0 and p["unconfirmed"] == 0 and p["buffered"] == 0
            for p in self.profiles.values())

    def as_json(self) -> str:
        return json.dumps({"profiles": self.profiles, "fatal": self.fatal, "interrupted": self.interrupted,
                           "not_sent": self.not_sent, "delivered_all": self.delivered_all})

    @classmethod
    def of(cls, deliveries: dict, fatal: str | None, interrupted: bool) -> Summary:
        """The summary of named deliveries."""
        return cls({name: {"sent": d.counters.sent, "failed": d.counters.failed, "retried": d.counters.retried,
                           "rejected": d.counters.rejected, "dropped": d.counters.dropped,
                           "unconfirmed": d.counters.unconfirmed, "buffered": len(d.pending())}
                    for name, d in deliveries.items()}, fatal, interrupted)

    def not_sent_text(self) -> str | None:
        """A line on what the run never handed over, or None when it handed over everything."""
        if self.not_sent is None:
            return "not sent: the rest of the scenario (it has no end)"
        total = self.not_sent_total
        if not total:
            return None
        by = ", ".join(f"{'heartbeat' if name == 'heartbeat' else 'profile ' + name}: {n}"
                       for name, n in sorted(self.not_sent.items(), key=lambda kv: (kv[0] == "heartbeat", kv[0]))
                       if n)
        return f"not sent: {total} event(s) of the scenario, the run stopped before them ({by})"

    def table(self) -> str:
        lines = ["  profile  " + "  ".join(self.COLUMNS)]
        for name, c in sorted(self.profiles.items(), key=lambda kv: (kv[0] == "heartbeat", kv[0])):
            lines.append(f"{name:>9}  " + "  ".join(f"{c[k]:>{len(k)}}" for k in self.COLUMNS))
        if (line := self.not_sent_text()) is not None:
            lines.append(line)
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
        self.not_sent: dict | None = {}  # after run(): see Summary.not_sent

    def _fatal(self) -> str | None:
        for d in self.deliveries.values():
            if d.fatal is not None:
                return f"profile {d.profile_id}: {d.fatal.detail}"
        return None

    @staticmethod
    def _name(pid: int) -> str:
        return "heartbeat" if pid == HEARTBEAT_ID else str(pid)

    def _endless(self, until_us: int | None) -> bool:
        return until_us is None and any(f.until_us is None for f in self.scenario.traffic)

    def _count_not_sent(self, until_us: int | None, handed: dict[int, int]) -> dict | None:
        """How many events of each profile the run never handed over: the scenario's packets
        (generated again: the camera is deterministic) minus those handed over."""
        if self._endless(until_us):
            return None
        total = dict.fromkeys(self.deliveries, 0)
        for packet in Camera(self.scenario, self.camera.start_us).packets_and_heartbeats(until_us):
            total[HEARTBEAT_ID if isinstance(packet, HeartbeatPacket) else packet.profile] += 1
        return {self._name(pid): max(0, n - handed[pid]) for pid, n in total.items()}

    def run(self, until_us: int | None = None, drain_s: float = 60.0) -> Summary:
        """Hand the scenario's packets over in time, then wait up to drain_s for the buffers.

        At speed max the producer waits for room in a full buffer (rather than drop), but
        at most drain_s at a time: a buffer that has not moved for that long belongs to a
        receiver that is down, and then, like the camera, it drops its oldest events for
        the new ones until it delivers again. So a run ends at most drain_s after the end
        of the scenario even when nobody receives.
        """
        interrupted = False
        produced_all = False
        handed = dict.fromkeys(self.deliveries, 0)
        patient = dict.fromkeys(self.deliveries, True)  # speed max: waiting for room, not dropping
        sent_when_given_up = dict.fromkeys(self.deliveries, 0)
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
                    pid = HEARTBEAT_ID
                    item = Item(Message(packet.json_bytes(), (), ""), {
                        "time": packet.epoch_ms, "profile": HEARTBEAT_ID, "state": "heartbeat", "carID": "-",
                        "plate": "-", "direction": "-"})
                else:
                    pid = packet.profile
                    item = Item(message_of(packet, self.profiles[pid]), label_of(packet))
                delivery = self.deliveries[pid]
                if self.speed is None:
                    if not patient[pid] and delivery.counters.sent > sent_when_given_up[pid]:
                        patient[pid] = True  # it delivers again: wait for room again
                    if not delivery.offer(item, wait=drain_s if patient[pid] else False) and patient[pid]:
                        patient[pid] = False
                        sent_when_given_up[pid] = delivery.counters.sent
                else:
                    delivery.offer(item)
                handed[pid] += 1
            else:
                produced_all = True
            deadline = time.monotonic() + drain_s
            for d in self.deliveries.values():
                d.drain(max(0.0, deadline - time.monotonic()))
        except KeyboardInterrupt:
            interrupted = True
        finally:
            for d in self.deliveries.values():
                d.stop()
        self.not_sent = {self._name(pid): 0 for pid in self.deliveries}
        if not produced_all:
            try:
                self.not_sent = self._count_not_sent(until_us, handed)
            except KeyboardInterrupt:  # a second Ctrl-C: unknown
                interrupted = True
        named = {self._name(pid): d for pid, d in self.deliveries.items()}
        summary = Summary.of(named, self._fatal(), interrupted)
        summary.not_sent = self.not_sent
        return summary

    def not_generated(self) -> int | None:
        """After run(): how many events of the scenario were never handed over (0 when all were;
        None when unknown: an endless scenario stopped)."""
        return None if self.not_sent is None else sum(self.not_sent.values())

    def unsent(self) -> list[dict]:
        return [item.label for d in self.deliveries.values() for item in d.pending()]

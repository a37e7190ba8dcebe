"""The runner: maps virtual time to the wall clock and hands packets to the deliveries.

Payload timestamps always follow the virtual clock; only when a packet is handed
over depends on the speed (1 = real time, N = N times faster, None = as fast as
the receivers take them).
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from datetime import datetime
from collections.abc import Callable

from .faults.plan import FaultPlan, unfit
from .vocabulary import HTTP_WIRE_FAULTS
from .protocol import Camera, HeartbeatPacket, Packet
from .scenario.model import Heartbeat, Profile, Scenario
from .terminal import printable
from .units import camera_zone
from .transport import Message, Outcome, TargetError
from .transport.delivery import Delivery, Item
from .transport.dispatch import Dispatcher, Summary
from .transport.pacer import Pacer
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
COUNT_BUDGET_S = 0.3  # see Runner._count_not_sent


def heartbeat_profile(hb: Heartbeat) -> Profile:
    """The heartbeat is sent like a JSON-format profile without images."""
    if hb.url is None:
        raise TargetError("the heartbeat has no url: give heartbeat.url in the scenario, or --http URL")
    return Profile(id=HEARTBEAT_ID, protocol="http", url=hb.url, format="json", image="none", auth=hb.auth,
                   auth_header=hb.auth_header, ca_file=hb.ca_file, insecure=hb.insecure)


def wire_problems(scenario: Scenario, profiles: dict[int, Profile]) -> list[str]:
    """HTTP wire faults for a profile the raw path cannot send to (https, digest), as the run
    sends (after --http): one line each, before anything is sent."""
    from .faults.plan import targets_of
    from .transport.rawhttp import wire_problem

    out = []
    for fault in scenario.faults:
        if fault.type in HTTP_WIRE_FAULTS:
            for pid in sorted(targets_of(fault, profiles)):
                problem = wire_problem(profiles[pid].url or "", profiles[pid])
                if problem:
                    out.append(f"faults[{fault.index}] ({fault.type}): {problem}")
    return out


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
    counter = packet.payload.counter
    name = profile.json_filename.replace("{packetCounter}", counter)
    return Message(packet.payload.camera_json(), packet.payload.attachments, name, counter)


def label_of(packet: Packet) -> dict:
    ev = packet.event
    return {"time": packet.epoch_ms, "profile": packet.profile, "state": ev.state, "carID": ev.passage.car_id,
            "plate": ev.text, "direction": ev.direction}


def delivery_name(profile_id: int) -> str:
    """A delivery's name in summaries: "1".."3", or "heartbeat"."""
    return "heartbeat" if profile_id == HEARTBEAT_ID else str(profile_id)


def sending_profiles(scenario: Scenario) -> dict[int, Profile]:
    """The deliveries of a camera: its profiles, and the heartbeat's (HEARTBEAT_ID) when it has one."""
    profiles = {p.id: p for p in scenario.profiles}
    if scenario.heartbeat is not None:
        profiles[HEARTBEAT_ID] = heartbeat_profile(scenario.heartbeat)
    return profiles


def schedule(camera: Camera, profiles: dict[int, Profile], until_us: int | None, plan: FaultPlan | None = None):
    """(virtual seconds, delivery name, Item) for every packet of the camera, in send order,
    as the scenario's faults have it (ffsim.faults: copies, held packets, wire faults)."""
    plan = plan if plan is not None else FaultPlan(camera.scenario, profiles, until_us)
    for sent in plan.apply(camera.packets_and_heartbeats(until_us)):
        packet = sent.packet
        if isinstance(packet, HeartbeatPacket):
            name = "heartbeat"
            item = Item(Message(packet.json_bytes(), (), ""), {
                "time": packet.epoch_ms, "profile": HEARTBEAT_ID, "state": "heartbeat", "carID": "-",
                "plate": "-", "direction": "-"})
        else:
            name = str(packet.profile)
            message = message_of(packet, profiles[packet.profile])
            if sent.wire is not None or sent.coalesced:
                message = dataclasses.replace(message, wire=sent.wire, coalesced=tuple(
                    c.packet.json_bytes() for c in sent.coalesced))
            item = Item(message, label_of(packet))
        if sent.faults:
            item.label["fault"] = sent.faults
        yield sent.time_us / 1e6, name, item


class LivePrinter:
    """One line per attempt: sent, retrying, rejected (with the status) or dropped; from any delivery thread."""

    def __init__(self, stream=None, enabled: bool = True, timezone: str = "UTC"):
        """timezone: the camera's, so that the times read as the payloads' datetime does."""
        self.stream = stream or sys.stdout
        self.enabled = enabled
        self.zone = camera_zone(timezone)
        self.lock = threading.Lock()

    def __call__(self, profile_id: int, item: Item, outcome: Outcome) -> None:
        self.show(profile_id, item.label, outcome.detail)

    def attempt(self, attempt) -> None:
        """For Run(on_attempt=...): the line of a session.Attempt."""
        self.show(attempt.profile, {"time": attempt.time_ms, "state": attempt.state, "carID": attempt.car_id,
                                    "plate": attempt.plate, "direction": attempt.direction,
                                    "fault": attempt.faults}, attempt.detail)

    def show(self, profile_id: int, label: dict, detail: str) -> None:
        if not self.enabled:
            return
        moment = datetime.fromtimestamp(label["time"] / 1000, self.zone)
        clock = moment.strftime("%H:%M:%S") + ".%03d" % (label["time"] % 1000)
        line = (f"{clock}  p{profile_id}  {label['state']:<8}  car {label['carID']:<6}  {label['plate']:<10}  "
                f"{label['direction']:<7}  {detail}")
        if label.get("fault"):  # the faults on purpose this packet carries
            line += "  [fault: " + ", ".join(str(f.get("name", f.get("type"))) for f in label["fault"]) + "]"
        with self.lock:
            print(printable(line), file=self.stream, flush=True)  # plates come from payloads: no escapes


class Runner:
    """One camera's run: the scenario's packets, paced, to each profile's delivery."""

    def __init__(self, scenario: Scenario, start_us: int, speed: float | None,
                 report: Callable[[int, Item, Outcome], None] | None = None,
                 backoff: tuple[float, float] = (0.1, 5.0)):
        self.scenario = scenario
        self.camera = Camera(scenario, start_us)
        self.speed = speed
        self.pacer = Pacer(speed)
        self.profiles = sending_profiles(scenario)
        problems = unfit(scenario, self.profiles) + wire_problems(scenario, self.profiles)
        if problems:  # a fault asked for and never sent would pass a test it should fail
            raise TargetError("; ".join(problems))
        transports = {pid: make_transport(p) for pid, p in self.profiles.items()}  # raises TargetError first
        self.deliveries: dict[int, Delivery] = {
            pid: Delivery(pid, transports[pid], p.buffer, p.buffer_size, report, backoff, p.retry_on, self.pacer)
            for pid, p in self.profiles.items()}
        self.dispatcher = Dispatcher({self._name(pid): d for pid, d in self.deliveries.items()}, self.pacer)
        self.not_sent: dict | None = {}  # after run(): see Summary.not_sent
        self.plan: FaultPlan | None = None  # the faults' plan of the last schedule (unstruck() after a run)

    _name = staticmethod(delivery_name)

    def _endless(self, until_us: int | None) -> bool:
        return until_us is None and any(f.until_us is None for f in self.scenario.traffic)

    def _count_not_sent(self, until_us: int | None) -> dict | None:
        """How many events of each profile the run never handed over: the scenario's packets
        (generated again: the camera is deterministic) minus those handed over. None when
        unknown: the scenario has no end, or counting the rest would hold the end of a stopped
        run up for more than COUNT_BUDGET_S (a day of traffic stopped after a minute)."""
        if self._endless(until_us):
            return None
        total = dict.fromkeys(self.deliveries, 0)
        give_up = self.pacer.now() + COUNT_BUDGET_S
        stream = Camera(self.scenario, self.camera.start_us).packets_and_heartbeats(until_us)
        for n, sent in enumerate(FaultPlan(self.scenario, self.profiles, until_us).apply(stream)):
            packet = sent.packet
            total[HEARTBEAT_ID if isinstance(packet, HeartbeatPacket) else packet.profile] += 1
            if n % 512 == 511 and self.pacer.now() > give_up:
                return None
        handed = self.dispatcher.handed
        return {self._name(pid): max(0, n - handed[self._name(pid)]) for pid, n in total.items()}

    def schedule(self, until_us: int | None):
        """(virtual seconds, delivery name, Item) for every packet of the scenario, in send order."""
        self.plan = FaultPlan(self.scenario, self.profiles, until_us)
        return schedule(self.camera, self.profiles, until_us, self.plan)

    def run(self, until_us: int | None = None, drain_s: float = 60.0) -> Summary:
        """Hand the scenario's packets over in time, then wait up to drain_s for the buffers
        (see Dispatcher.play). stop() from another thread ends it within a second."""
        produced_all = self.dispatcher.play(self.schedule(until_us), drain_s)
        self.not_sent = {self._name(pid): 0 for pid in self.deliveries}
        if not produced_all:
            try:
                self.not_sent = self._count_not_sent(until_us)
            except KeyboardInterrupt:  # a second Ctrl-C: unknown
                self.dispatcher.interrupted = True
                self.not_sent = None
        summary = self.dispatcher.summary()
        summary.not_sent = self.not_sent
        return summary

    def stop(self) -> None:
        """From any thread: run() returns within a second, with its summary."""
        self.dispatcher.stop()

    def not_generated(self) -> int | None:
        """After run(): how many events of the scenario were never handed over (0 when all were;
        None when unknown: an endless scenario stopped)."""
        return None if self.not_sent is None else sum(self.not_sent.values())

    def unsent(self) -> list[dict]:
        return [item.label for item in self.dispatcher.pending()]

"""Sans-I/O protocol layer: engine events to each profile's packets and their bytes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..engine import NEW, RELIABLE, Engine, Event
from ..faults.clock import CameraClock, camera_clock, ms
from ..faults.timing import Window, restart_windows
from ..scenario.model import Heartbeat, Scenario
from .heartbeat import heartbeat_json, heartbeat_payload
from .jsonwire import camera_json
from ..render import ImageRenderer
from .payload import Payload, PayloadBuilder

if TYPE_CHECKING:
    from ..faults.payload import FaultedPayload


@dataclass(slots=True)
class Packet:
    """One payload a profile sends: what a transport puts on the wire."""

    time_us: int  # virtual send time after t=0
    epoch_ms: int  # the same, as wall-clock epoch milliseconds
    profile: int
    payload: Payload | FaultedPayload  # FaultedPayload: after a payload fault (ffsim.faults.plan)
    event: Event
    # the faults that shaped this packet ({"type", "name", ...}; a list when several did): here a restart
    # before it or a clock fault in its timestamps (ffsim.faults.plan adds its own); never in the payload
    fault: dict | list[dict] | None = None

    def json_bytes(self) -> bytes:
        return self.payload.camera_json()


@dataclass(slots=True)
class HeartbeatPacket:
    """A keepalive the camera sends, at its virtual time."""

    time_us: int
    epoch_ms: int
    payload: dict
    fault: dict | list[dict] | None = None  # as Packet.fault: the first heartbeat after a restart, a clock fault

    def json_bytes(self) -> bytes:
        return heartbeat_json(self.payload)


class Camera:
    """A scenario's camera: every packet of every profile, in send order."""

    def __init__(self, scenario: Scenario, start_us: int, profiles: list[int] | None = None):
        self.scenario = scenario
        self.start_us = start_us
        # the camera's frames fall at a phase of its own after t=0: the sub-millisecond
        # digits of frame_timestamp (0 in the documented shape)
        self.frames_us = start_us + scenario.camera.frame_phase_us
        chosen = scenario.profiles if profiles is None else [scenario.profile(p) for p in profiles]
        self.engine = Engine(scenario, reliable=any(p is not None and RELIABLE in p.events for p in chosen))
        cam = scenario.camera
        renderer = ImageRenderer(cam.width, cam.height, scenario.photos, scenario.road_seed)  # its caches serve all
        # faults of the camera itself (ffsim.faults): None and () when the scenario has none
        self.clock: CameraClock | None = camera_clock(scenario)
        self.builders = [PayloadBuilder(scenario, p, self.frames_us, self.engine.lists, renderer, self.clock)
                         for p in chosen if p is not None]

    def packets(self, until_us: int | None = None) -> Iterator[Packet]:
        for item in self.packets_and_events(until_us):
            if type(item) is Packet:
                yield item

    def packets_and_heartbeats(self, until_us: int | None = None) -> Iterator[Packet | HeartbeatPacket]:
        """packets(), with the scenario's heartbeats in time order among them.

        Heartbeats fall at t = 0, period, 2 period... up to until_us (or the last
        event); one at the time of an event comes after it, so its counts include it.
        A restart silences them: none in its dark window, the next at its end, then every
        period from there, with numFrames and numberOfReads counted from that boot.
        """
        hb = self.scenario.heartbeat
        if hb is None:
            yield from self.packets(until_us)
            return
        yield from self._with_restarts(hb, until_us)

    def _with_restarts(self, hb: Heartbeat, until_us: int | None) -> Iterator[Packet | HeartbeatPacket]:
        """packets_and_heartbeats with the heartbeat's timer: restarts (if any) reset it."""
        windows = list(reversed(restart_windows(self.scenario, until_us))) if self.scenario.faults else []
        next_hb, reads, last, boot_us = 0, 0, 0, 0
        restarted: Window | None = None  # the restart the next heartbeat is the first after

        def due(limit: int, inclusive: bool) -> Iterator[HeartbeatPacket]:
            # the heartbeats and restarts before an event at limit (or up to the end, inclusive)
            nonlocal next_hb, reads, boot_us, restarted
            while True:
                if windows and windows[-1].start_us <= next_hb and windows[-1].start_us <= limit:
                    window = windows.pop()
                    next_hb = boot_us = window.end_us
                    reads = 0
                    restarted = window
                elif next_hb < limit or (inclusive and next_hb == limit):
                    yield self._tick(hb, next_hb, reads, boot_us, restarted)
                    restarted = None
                    next_hb += hb.period_us
                else:
                    return

        for packet in self.packets_and_events(until_us):
            time_us = packet.time_us
            yield from due(time_us, False)
            last = time_us
            if isinstance(packet, Event):
                if packet.state == NEW:
                    reads += 1
                continue
            yield packet
        yield from due(until_us if until_us is not None else last, True)

    def packets_and_events(self, until_us: int | None = None) -> Iterator[Packet | Event]:
        """Each engine event, followed by its packets."""
        if self.scenario.faults:
            yield from self._faulted(until_us)
            return
        frames_us = self.frames_us
        for ev in self.engine.events(until_us):
            yield ev
            epoch_ms = (frames_us + ev.time_us) // 1000
            for builder in self.builders:
                payload = builder.build(ev)
                if payload is not None:
                    yield Packet(ev.time_us, epoch_ms, builder.profile.id, payload, ev)

    def _faulted(self, until_us: int | None) -> Iterator[Packet | Event]:
        """packets_and_events with the camera's own faults: restarts and clock faults."""
        frames_us = self.frames_us
        clock = self.clock
        windows = list(reversed(restart_windows(self.scenario, until_us)))
        restarted: list[dict | None] = [None] * len(self.builders)  # per builder: its first packet's label
        for ev in self.engine.events(until_us):
            yield ev
            while windows and windows[-1].start_us <= ev.time_us:
                window = windows.pop()
                label = restart_label(window)
                for i, builder in enumerate(self.builders):
                    builder.restart(window.restart)
                    restarted[i] = label
            epoch_ms = (frames_us + ev.time_us) // 1000
            clock_labels = clock.labels(ev.capture_us) if clock is not None else []
            for i, builder in enumerate(self.builders):
                payload = builder.build(ev)
                if payload is not None:
                    first = restarted[i]
                    restarted[i] = None
                    labels = clock_labels if first is None else [first] + clock_labels
                    yield Packet(ev.time_us, epoch_ms, builder.profile.id, payload, ev, combine(labels))

    def _tick(self, hb: Heartbeat, time_us: int, reads: int, boot_us: int = 0,
              restarted: Window | None = None) -> HeartbeatPacket:
        epoch_us = self.start_us + time_us
        clock = self.engine.clock
        frames = clock.floor(time_us) - clock.ceil(boot_us) + 1  # the frames since the camera started
        if not self.scenario.faults:
            payload = heartbeat_payload(self.scenario, hb, epoch_us, frames, reads)
            return HeartbeatPacket(time_us, epoch_us // 1000, payload)
        labels = [] if restarted is None else [restart_label(restarted)]
        written_us = epoch_us
        if self.clock is not None:
            written_us += self.clock.offset_us(time_us)
            labels += self.clock.labels(time_us, zones=False)
        payload = heartbeat_payload(self.scenario, hb, written_us, frames, reads)
        return HeartbeatPacket(time_us, epoch_us // 1000, payload, combine(labels))


def restart_label(window: Window) -> dict:
    """The label of the first packet (and heartbeat) after a restart."""
    return {"type": "restart", "name": window.fault.name, "down_ms": ms(window.end_us - window.start_us)}


def combine(labels: list[dict]) -> dict | list[dict] | None:
    """A packet's fault: None, its one label, or the list of them (a restart first, then clock faults)."""
    if not labels:
        return None
    return labels[0] if len(labels) == 1 else labels


__all__ = ["Camera", "Packet", "HeartbeatPacket", "Payload", "PayloadBuilder", "camera_json"]

"""Sans-I/O protocol layer: engine events to each profile's packets and their bytes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..engine import NEW, RELIABLE, Engine, Event
from ..scenario.model import Heartbeat, Scenario
from .heartbeat import heartbeat_json, heartbeat_payload
from .jsonwire import camera_json
from ..render import ImageRenderer
from .payload import Payload, PayloadBuilder


@dataclass(slots=True)
class Packet:
    """One payload a profile sends: what a transport puts on the wire."""

    time_us: int  # virtual send time after t=0
    epoch_ms: int  # the same, as wall-clock epoch milliseconds
    profile: int
    payload: Payload
    event: Event

    def json_bytes(self) -> bytes:
        return self.payload.camera_json()


@dataclass(slots=True)
class HeartbeatPacket:
    """A keepalive the camera sends, at its virtual time."""

    time_us: int
    epoch_ms: int
    payload: dict

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
        self.builders = [PayloadBuilder(scenario, p, self.frames_us, self.engine.lists, renderer)
                         for p in chosen if p is not None]

    def packets(self, until_us: int | None = None) -> Iterator[Packet]:
        for item in self.packets_and_events(until_us):
            if type(item) is Packet:
                yield item

    def packets_and_heartbeats(self, until_us: int | None = None) -> Iterator[Packet | HeartbeatPacket]:
        """packets(), with the scenario's heartbeats in time order among them.

        Heartbeats fall at t = 0, period, 2 period... up to until_us (or the last
        event); one at the time of an event comes after it, so its counts include it.
        """
        hb = self.scenario.heartbeat
        if hb is None:
            yield from self.packets(until_us)
            return
        next_hb, reads, last = 0, 0, 0
        for packet in self.packets_and_events(until_us):
            time_us = packet.time_us
            while next_hb < time_us:
                yield self._tick(hb, next_hb, reads)
                next_hb += hb.period_us
            last = time_us
            if isinstance(packet, Event):
                if packet.state == NEW:
                    reads += 1
                continue
            yield packet
        end = until_us if until_us is not None else last
        while next_hb <= end:
            yield self._tick(hb, next_hb, reads)
            next_hb += hb.period_us

    def packets_and_events(self, until_us: int | None = None) -> Iterator[Packet | Event]:
        """Each engine event, followed by its packets."""
        frames_us = self.frames_us
        for ev in self.engine.events(until_us):
            yield ev
            epoch_ms = (frames_us + ev.time_us) // 1000
            for builder in self.builders:
                payload = builder.build(ev)
                if payload is not None:
                    yield Packet(ev.time_us, epoch_ms, builder.profile.id, payload, ev)

    def _tick(self, hb: Heartbeat, time_us: int, reads: int) -> HeartbeatPacket:
        epoch_us = self.start_us + time_us
        frames = self.engine.clock.floor(time_us) + 1
        payload = heartbeat_payload(self.scenario, hb, epoch_us, frames, reads)
        return HeartbeatPacket(time_us, epoch_us // 1000, payload)


__all__ = ["Camera", "Packet", "HeartbeatPacket", "Payload", "PayloadBuilder", "camera_json"]
